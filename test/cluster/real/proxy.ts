// One recording proxy per replica in front of the real apiserver, for the crash tests of DESIGN §6a:
// a replica's mutating call can be stopped at its proxy `before` it reaches the apiserver (the write
// never lands) or `after` the apiserver applied it with the answer withheld (it landed, its sender
// never learns). The replica's kubeconfig points at its proxy over loopback HTTP; the proxy adds the
// replica's own ServiceAccount token and speaks TLS to the apiserver, so RBAC still judges each call.
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface ProxiedCall {
  replica: string;
  method: string;
  path: string;
  /** When the proxy received it (performance.now()). */
  at: number;
  status: number;
}

export interface Hold {
  /** Resolves with the call once it is held. */
  held: Promise<ProxiedCall>;
  /** For a call held `before`: send it on now (a frozen sender's late write) and resolve with the apiserver's status. */
  release(): Promise<number>;
}

interface PendingHold {
  match: (c: ProxiedCall) => boolean;
  phase: 'before' | 'after';
  resolve: (c: ProxiedCall) => void;
  send: (() => Promise<number>) | null;
}

export class ReplicaProxies {
  readonly calls: ProxiedCall[] = [];
  private readonly upstream: URL;
  private readonly agent: https.Agent;
  private readonly dir: string;
  private readonly servers: http.Server[] = [];
  private holds: PendingHold[] = [];

  constructor(opts: { url: string; ca: string; dir: string }) {
    this.upstream = new URL(opts.url);
    this.agent = new https.Agent({ ca: opts.ca, keepAlive: true });
    this.dir = opts.dir;
  }

  /** Starts `replica`'s proxy (authenticating with `token`) and writes a kubeconfig pointing at it. */
  async kubeconfigFor(replica: string, token: string): Promise<string> {
    const server = http.createServer((req, res) => void this.forward(replica, token, req, res));
    server.on('clientError', (_e, socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.servers.push(server);
    const file = join(this.dir, `kubeconfig-proxy-${replica}`);
    writeFileSync(file, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': replica,
      // client-node refuses a plain-http server unless TLS verification is explicitly off (loopback only).
      clusters: [{ name: 'proxy', cluster: { server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: replica, user: {} }],
      contexts: [{ name: replica, context: { cluster: 'proxy', user: replica } }],
    }));
    return file;
  }

  /** Stops the next call matching `match` at the proxy. Held calls are never released. */
  hold(match: (c: ProxiedCall) => boolean, phase: 'before' | 'after'): Hold {
    let resolve!: (c: ProxiedCall) => void;
    const held = new Promise<ProxiedCall>((r) => { resolve = r; });
    const pending: PendingHold = { match, phase, resolve, send: null };
    this.holds.push(pending);
    return {
      held,
      release: async () => {
        await held;
        if (!pending.send) throw new Error('only a call held before it was sent can be released');
        return pending.send();
      },
    };
  }

  private async forward(replica: string, token: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const call: ProxiedCall = { replica, method: req.method ?? 'GET', path: req.url ?? '/', at: performance.now(), status: 0 };
    this.calls.push(call);
    const hold = this.holds.find((h) => h.match(call));
    if (hold) this.holds = this.holds.filter((h) => h !== hold);
    const send = (answer: boolean) => new Promise<number>((resolve) => {
      const headers = { ...req.headers, host: this.upstream.host, authorization: `Bearer ${token}` };
      const up = https.request(new URL(call.path, this.upstream), { method: call.method, headers, agent: this.agent }, (reply) => {
        const out: Buffer[] = [];
        reply.on('data', (c: Buffer) => out.push(c));
        reply.on('end', () => {
          call.status = reply.statusCode ?? 0;
          if (answer && !res.writableEnded) {
            res.writeHead(call.status, reply.headers);
            res.end(Buffer.concat(out));
          }
          resolve(call.status);
        });
      });
      up.on('error', () => {
        if (answer && !res.headersSent) res.writeHead(502);
        if (answer) res.end();
        resolve(0);
      });
      up.end(Buffer.concat(chunks));
    });
    if (hold?.phase === 'before') {
      hold.send = () => send(true);
      hold.resolve(call);
      return;
    }
    if (hold) {
      await send(false); // applied by the apiserver; its sender never hears back
      hold.resolve(call);
      return;
    }
    await send(true);
  }

  async close(): Promise<void> {
    for (const s of this.servers) s.closeAllConnections();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.agent.destroy();
  }
}
