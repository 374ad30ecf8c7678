// Protections that apply to every answer, whatever route (or no route) produced it: security headers,
// the JSON envelope for requests Node's parser refuses before any handler runs, malformed
// percent-encoding, and letting an early refusal reach a client that is still uploading its body.
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ERROR_CATALOGUE, type ErrorCode } from '../domain/errors.ts';
import type { Logger } from '../observability/logger.ts';
import { errorBody } from './errors.ts';

/** Sent on every answer: HTTPS only (this server never speaks plain HTTP), no MIME sniffing. */
export const BASE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'strict-transport-security': 'max-age=31536000',
  'x-content-type-options': 'nosniff',
};

/**
 * Every answer gets the security headers. API answers (`noStore`) also get `no-store`: they carry
 * data a token was needed for and must not sit in shared caches. Dashboard pages and versioned assets
 * set their own caching, so they are left alone.
 */
export function applySecurityHeaders(res: ServerResponse, noStore: boolean): void {
  for (const [k, v] of Object.entries(BASE_SECURITY_HEADERS)) res.setHeader(k, v);
  if (noStore) res.setHeader('cache-control', 'no-store');
}

/** False when the path holds a `%` escape that does not decode (`/errors/%`, `/api/errors/%zz`, bad UTF-8). */
export function wellEncodedPath(path: string): boolean {
  if (!path.includes('%')) return true;
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

/** Which catalogue entry a parser-level refusal maps to, and a message safe to show. */
function classifyClientError(err: { code?: string; reason?: string; message?: string }): { code: ErrorCode; message: string } {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { code: 'headers_too_large', message: 'The request line and headers exceed 16 KiB.' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return { code: 'request_timeout', message: 'The request did not arrive in time.' };
    default: {
      // llhttp's reason names the fault ("Invalid header token", "Content-Length can't be present
      // with Transfer-Encoding"); it never echoes request bytes.
      const why = typeof err.reason === 'string' && err.reason.length < 200 ? err.reason : err.code ?? 'unparseable';
      return { code: 'bad_request', message: `Malformed HTTP request: ${why}.` };
    }
  }
}

/** The raw HTTP/1.1 answer for a request Node refused while parsing (no ServerResponse exists). */
function rawErrorResponse(code: ErrorCode, message: string): string {
  const { status } = ERROR_CATALOGUE[code];
  const body = errorBody(code, message);
  const headers = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'connection: close',
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    ...Object.entries(BASE_SECURITY_HEADERS).map(([k, v]) => `${k}: ${v}`),
    'cache-control: no-store',
  ];
  return `${headers.join('\r\n')}\r\n\r\n${body}`;
}

/** Node's `clientError` handler: answer with the envelope when the socket can still take it. */
export function clientErrorHandler(log: Pick<Logger, 'debug'>) {
  return (err: NodeJS.ErrnoException & { reason?: string }, socket: Duplex): void => {
    const pending = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || pending?.headersSent) {
      socket.destroy();
      return;
    }
    const { code, message } = classifyClientError(err);
    // Anyone can send these: debug, so they cannot be used to flood the logs.
    log.debug({ code: err.code, reason: err.reason }, 'refused a request the HTTP parser could not accept');
    socket.end(rawErrorResponse(code, message));
  };
}

export interface DrainLimits {
  /** Body bytes read and discarded after an early answer before giving up on the connection. */
  maxBytes: number;
  /** How long to keep discarding. */
  maxMs: number;
  /** After giving up: half-closed, still reading, for this long before the socket is destroyed. */
  lingerMs: number;
}

const DEFAULT_DRAIN: DrainLimits = { maxBytes: 8 * 1024 * 1024, maxMs: 10_000, lingerMs: 2_000 };

/**
 * Called when an answer finished before its request body was read (401, 403, 413, 415 …). Closing at
 * once would make the kernel reset the connection while the client is still sending, and a reset
 * discards the answer the client has not read yet — it would see "broken pipe", not the status. So
 * the rest of the body is read and thrown away (the connection stays usable); past the limits the
 * write side is closed first and the socket destroyed only after a short linger.
 */
export function drainRefusedBody(req: IncomingMessage, limits: DrainLimits = DEFAULT_DRAIN): void {
  const socket = req.socket;
  if (req.complete || socket.destroyed) return;
  let seen = 0;
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    req.off('data', count);
    socket.end();
    setTimeout(() => socket.destroy(), limits.lingerMs).unref();
  };
  const count = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > limits.maxBytes) stop();
  };
  const timer = setTimeout(stop, limits.maxMs);
  timer.unref();
  req.on('data', count);
  req.once('end', () => { clearTimeout(timer); req.off('data', count); });
  req.once('error', () => clearTimeout(timer));
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxBytes) stop();
  req.resume();
}
