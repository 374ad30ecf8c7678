// HTTPS listener for an App: TLS material from files, optional client-CA verification (requested,
// not required, so only the admission route insists on it), keep-alive tuned for webhook senders.
// The TLS policy (TLS 1.2+ with AEAD suites only) lives in src/tls/material.ts and is part of every
// context, including the ones a certificate rotation installs.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { IncomingMessage, RequestListener } from 'node:http';
import type { Logger } from '../observability/logger.ts';
import { loadTlsPair, secureContextOptions, type TlsPair } from '../tls/material.ts';
import { clientErrorHandler } from './hardening.ts';

export interface TlsMaterial {
  certFile: string;
  keyFile: string;
  clientCaFile?: string;
}

export interface ListeningServer {
  server: Server;
  url: string;
  port: number;
  /** Stop accepting, finish in-flight requests (up to graceMs), close keep-alive connections. */
  close(graceMs?: number): Promise<void>;
  /** Put a checked certificate pair in service (src/tls/reloader.ts calls this on rotation). */
  useTls(pair: TlsPair): void;
}

function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  if (!m) throw new Error(`web.listen must be host:port, got "${listen}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}

export async function listen(opts: {
  handler: RequestListener;
  tls: TlsMaterial;
  listen: string;
  onUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Parser-level refusals are logged here (at debug); silent without one. */
  logger?: Pick<Logger, 'debug'>;
  /** An already checked pair (shared by every listener of the process); read from `tls` otherwise. */
  pair?: TlsPair;
}): Promise<ListeningServer> {
  const { host, port } = parseListen(opts.listen);
  const pair = opts.pair ?? await loadTlsPair(opts.tls);
  const server = createServer({
    ...secureContextOptions(pair),
    requestCert: Boolean(opts.tls.clientCaFile),
    rejectUnauthorized: false,
    // Senders reuse connections; outlive their idle timeouts so we are not the side that races a close.
    keepAliveTimeout: 65_000,
    headersTimeout: 30_000,
    requestTimeout: 60_000,
  }, opts.handler);
  // Requests Node refuses before any handler (bad framing, CL+TE, bad header names, 16 KiB of URL or
  // headers) still get the JSON envelope.
  server.on('clientError', clientErrorHandler(opts.logger ?? { debug: () => {} }));
  if (opts.onUpgrade) server.on('upgrade', opts.onUpgrade);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    server,
    port: addr.port,
    url: `https://${shownHost}:${addr.port}`,
    close: (graceMs = 10_000) => new Promise<void>((resolve) => {
      // In-flight requests get `graceMs` to finish; idle keep-alive connections close now, the rest after.
      const force = setTimeout(() => server.closeAllConnections(), graceMs);
      force.unref();
      server.close(() => { clearTimeout(force); resolve(); });
      server.closeIdleConnections();
    }),
    useTls: (next) => { server.setSecureContext(secureContextOptions(next)); },
  };
}
