// GET ${base}/ws: the live feed as a WebSocket. Browsers cannot set an Authorization header on a
// WebSocket, and a token in the URL would end up in proxy logs, so the read token travels as a
// subprotocol (`bearer.<base64url(token)>`) next to `kube-sentinel.v1`, and only the latter is echoed.
// Non-browser clients may send `Authorization: Bearer` instead.
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { ERROR_CATALOGUE, type ErrorCode } from '../domain/errors.ts';
import type { FeedMessage, LiveFeed } from '../feed.ts';
import type { Logger } from '../observability/logger.ts';
import { bearerToken, type TokenSet } from './auth.ts';
import { errorBody } from './errors.ts';
import { BASE_SECURITY_HEADERS } from './hardening.ts';

export const LIVE_PROTOCOL = 'kube-sentinel.v1';
const TOKEN_PROTOCOL_PREFIX = 'bearer.';

/** Messages the socket adds to the feed's own: a greeting and an application-level heartbeat. */
type LiveMessage =
  | FeedMessage
  | { type: 'hello'; protocol: typeof LIVE_PROTOCOL; heartbeatMs: number }
  | { type: 'heartbeat'; at: string };

const REJECT_REASONS = {
  'wrong-path': 'not_found',
  'origin-mismatch': 'forbidden',
  'missing-token': 'unauthorized',
  'invalid-token': 'unauthorized',
  'too-many-clients': 'draining',
  'shutting-down': 'draining',
} as const satisfies Record<string, ErrorCode>;
type RejectReason = keyof typeof REJECT_REASONS;

export type UpgradeVerdict = { ok: true } | { ok: false; reason: RejectReason };

export interface UpgradeRequest {
  path: string;
  host: string | undefined;
  origin: string | undefined;
  /** Raw Sec-WebSocket-Protocol header. */
  protocols: string | undefined;
  authorization: string | null;
}

/** The token offered as a `bearer.<base64url>` subprotocol, or null. */
export function tokenFromProtocols(header: string | undefined): string | null {
  if (!header) return null;
  for (const raw of header.split(',')) {
    const p = raw.trim();
    if (p.startsWith(TOKEN_PROTOCOL_PREFIX)) {
      const encoded = p.slice(TOKEN_PROTOCOL_PREFIX.length);
      if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return '';
      return Buffer.from(encoded, 'base64url').toString('utf8');
    }
  }
  return null;
}

/**
 * Browsers always send Origin on a WebSocket handshake; a page on another site must not ride the
 * user's token (cross-site WebSocket hijacking). Clients that send no Origin are not browsers.
 */
export function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  if (!host) return false;
  try {
    // This server only speaks HTTPS, so its own pages have an https: origin. http://same-host is
    // another origin (a plain-HTTP page on that name, e.g. injected by a network attacker).
    const from = new URL(origin);
    if (from.protocol !== 'https:') return false;
    return from.host.toLowerCase() === new URL(`https://${host}`).host.toLowerCase();
  } catch {
    return false; // includes the literal "null" origin of sandboxed frames and file: pages
  }
}

/** Pure admission decision for one handshake. */
export function decideUpgrade(req: UpgradeRequest, opts: {
  basePath: string; readTokens: TokenSet; adminTokens: TokenSet; clients: number; maxClients: number;
}): UpgradeVerdict {
  if (req.path !== `${opts.basePath}/ws`) return { ok: false, reason: 'wrong-path' };
  if (!sameOrigin(req.origin, req.host)) return { ok: false, reason: 'origin-mismatch' };
  // Same rule as the read API: open when no read token is configured, and admin tokens also read.
  if (opts.readTokens.size > 0) {
    const token = tokenFromProtocols(req.protocols) ?? req.authorization;
    if (token === null) return { ok: false, reason: 'missing-token' };
    if (!opts.readTokens.has(token) && !opts.adminTokens.has(token)) return { ok: false, reason: 'invalid-token' };
  }
  if (opts.clients >= opts.maxClients) return { ok: false, reason: 'too-many-clients' };
  return { ok: true };
}

type Cancel = () => void;

export interface LiveSocketOptions {
  feed: Pick<LiveFeed, 'subscribe'>;
  readTokens: TokenSet;
  adminTokens: TokenSet;
  basePath: string;
  logger: Logger;
  /** Ping and heartbeat period; a client that missed the previous ping is dropped. */
  heartbeatMs?: number;
  /** A client whose unsent data exceeds this is dropped instead of buffered without bound. */
  maxBufferedBytes?: number;
  maxClients?: number;
  /** How long close() waits for clients to acknowledge the close frame before cutting them off. */
  closeGraceMs?: number;
  now?: () => number;
  every?: (fn: () => void, ms: number) => Cancel;
  after?: (fn: () => void, ms: number) => Cancel;
}

export interface LiveSocket {
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  readonly clientCount: number;
  close(): Promise<void>;
}

const defaultEvery = (fn: () => void, ms: number): Cancel => {
  const t = setInterval(fn, ms);
  t.unref();
  return () => clearInterval(t);
};
const defaultAfter = (fn: () => void, ms: number): Cancel => {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
};

function reject(socket: Duplex, reason: RejectReason): void {
  const code = REJECT_REASONS[reason];
  const body = errorBody(code, `WebSocket refused: ${reason}.`);
  const { status } = ERROR_CATALOGUE[code];
  const extra = code === 'unauthorized' ? 'WWW-Authenticate: Bearer realm="kube-sentinel"\r\n' : '';
  const security = Object.entries(BASE_SECURITY_HEADERS).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n${security}cache-control: no-store\r\n${extra}\r\n${body}`,
  );
}

export function createLiveSocket(opts: LiveSocketOptions): LiveSocket {
  const log = opts.logger;
  const heartbeatMs = opts.heartbeatMs ?? 30_000;
  const maxBuffered = opts.maxBufferedBytes ?? 1 << 20;
  const maxClients = opts.maxClients ?? 1000;
  const now = opts.now ?? Date.now;
  const every = opts.every ?? defaultEvery;
  const after = opts.after ?? defaultAfter;
  const alive = new Map<WebSocket, boolean>();
  let unsubscribe: (() => void) | null = null;
  let stopHeartbeat: Cancel | null = null;
  let closing = false;

  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    // The feed is one-way; clients have nothing to say beyond control frames.
    maxPayload: 1024,
    handleProtocols: (protocols) => (protocols.has(LIVE_PROTOCOL) ? LIVE_PROTOCOL : false),
  });

  function send(ws: WebSocket, data: string): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > maxBuffered) {
      log.warn({ buffered: ws.bufferedAmount, limit: maxBuffered }, 'live feed client too slow; dropping it');
      ws.terminate();
      return;
    }
    ws.send(data);
  }

  function broadcast(msg: LiveMessage): void {
    const data = JSON.stringify(msg);
    for (const ws of alive.keys()) send(ws, data);
  }

  function heartbeat(): void {
    for (const [ws, answered] of alive) {
      if (!answered) {
        log.debug('live feed client missed a ping; dropping it');
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
    broadcast({ type: 'heartbeat', at: new Date(now()).toISOString() });
  }

  function remove(ws: WebSocket): void {
    if (!alive.delete(ws)) return;
    // Only listen to the feed while someone is connected: with no listener it skips loading groups.
    if (alive.size === 0) {
      unsubscribe?.();
      unsubscribe = null;
      stopHeartbeat?.();
      stopHeartbeat = null;
    }
  }

  function accept(ws: WebSocket): void {
    alive.set(ws, true);
    ws.on('pong', () => { if (alive.has(ws)) alive.set(ws, true); });
    ws.on('close', () => remove(ws));
    ws.on('error', (err) => { log.debug({ err: err.message }, 'live feed client error'); remove(ws); });
    ws.on('message', () => { /* one-way feed: ignore */ });
    unsubscribe ??= opts.feed.subscribe((msg) => broadcast(msg));
    stopHeartbeat ??= every(heartbeat, heartbeatMs);
    send(ws, JSON.stringify({ type: 'hello', protocol: LIVE_PROTOCOL, heartbeatMs } satisfies LiveMessage));
  }

  return {
    get clientCount() { return alive.size; },

    onUpgrade(req, socket, head) {
      // An error on a socket we are refusing must not become an unhandled 'error' event.
      socket.on('error', () => socket.destroy());
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const verdict: UpgradeVerdict = closing ? { ok: false, reason: 'shutting-down' } : decideUpgrade({
        path: q === -1 ? url : url.slice(0, q),
        host: req.headers.host,
        origin: req.headers.origin,
        protocols: req.headers['sec-websocket-protocol'],
        authorization: bearerToken(req),
      }, { basePath: opts.basePath, readTokens: opts.readTokens, adminTokens: opts.adminTokens, clients: alive.size, maxClients });
      if (!verdict.ok) {
        log.debug({ reason: verdict.reason }, 'live feed handshake refused');
        reject(socket, verdict.reason);
        return;
      }
      wss.handleUpgrade(req, socket, head, accept);
    },

    close() {
      closing = true;
      const clients = [...alive.keys()];
      if (clients.length === 0) {
        wss.close();
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        let left = clients.length;
        const done = () => { if (--left === 0) { cancel(); wss.close(); resolve(); } };
        const cancel = after(() => { for (const ws of clients) ws.terminate(); }, opts.closeGraceMs ?? 1000);
        for (const ws of clients) {
          ws.once('close', done);
          ws.close(1001, 'server shutting down');
        }
      });
    },
  };
}
