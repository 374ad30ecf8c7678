// A local HTTPS receiver for notification tests (loopback only): records every request and answers
// from a script — a status (with headers), `hang` (never answers), or `close` (drops the connection).
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { testPki } from '../support/pki.ts';

export type Step = number | { status: number; headers?: Record<string, string> } | 'hang' | 'close';

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: unknown;
}

export interface Receiver {
  url: string;
  caFile: string;
  received: Received[];
  /** Answers for the next requests, in order; after the script runs out, 200. */
  script: Step[];
  close(): Promise<void>;
}

export async function startReceiver(script: Step[] = []): Promise<Receiver> {
  const pki = await testPki();
  const received: Received[] = [];
  const self = { script } as Receiver;
  const server: Server = createServer({ cert: readFileSync(pki.certFile), key: readFileSync(pki.keyFile) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown = null;
      try { json = JSON.parse(body); } catch { /* recorded as text */ }
      received.push({ path: req.url ?? '', headers: req.headers, body, json });
      const step = self.script.shift() ?? 200;
      if (step === 'hang') return;
      if (step === 'close') { req.socket.destroy(); return; }
      const { status, headers } = typeof step === 'number' ? { status: step, headers: {} } : step;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(status < 300 ? '{"status":"success"}' : '{"error":"scripted"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(self, {
    url: `https://127.0.0.1:${port}`,
    caFile: pki.caFile,
    received,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  });
}
