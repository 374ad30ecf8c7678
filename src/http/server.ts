// HTTPS listener for an App: TLS material from files, optional client-CA verification (requested,
// not required, so only the admission route insists on it), keep-alive tuned for webhook senders.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { IncomingMessage, RequestListener } from 'node:http';

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
  /** Re-read certificate files (e.g. after cert-manager rotated them). */
  reloadTls(): Promise<void>;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  if (!m) throw new Error(`web.listen must be host:port, got "${listen}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}

async function secureContextOptions(tls: TlsMaterial) {
  const [cert, key, ca] = await Promise.all([
    readFile(tls.certFile), readFile(tls.keyFile), tls.clientCaFile ? readFile(tls.clientCaFile) : undefined,
  ]);
  return { cert, key, ...(ca ? { ca } : {}) };
}

export async function listen(opts: {
  handler: RequestListener;
  tls: TlsMaterial;
  listen: string;
  onUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}): Promise<ListeningServer> {
  const { host, port } = parseListen(opts.listen);
  const server = createServer({
    ...(await secureContextOptions(opts.tls)),
    requestCert: Boolean(opts.tls.clientCaFile),
    rejectUnauthorized: false,
    // Senders reuse connections; outlive their idle timeouts so we are not the side that races a close.
    keepAliveTimeout: 65_000,
    headersTimeout: 30_000,
    requestTimeout: 60_000,
  }, opts.handler);
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
    reloadTls: async () => { server.setSecureContext(await secureContextOptions(opts.tls)); },
  };
}
