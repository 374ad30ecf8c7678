// A TCP proxy between the server and PostgreSQL that can take the database away: cut() resets every
// open connection and stops listening (new connections are refused), restore() listens again on the
// same port. This is what a failover, a network partition or a database restart looks like to pg.
import { createServer, connect, type Server, type Socket } from 'node:net';

export class TcpProxy {
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<Socket>();
  #server: Server | null = null;
  #port = 0;
  /** Connections accepted so far (tests assert that clients reconnected). */
  accepted = 0;

  constructor(opts: { targetHost: string; targetPort: number }) {
    this.#target = { host: opts.targetHost, port: opts.targetPort };
  }

  get port(): number {
    return this.#port;
  }

  /** Starts listening (on an ephemeral port the first time, then on the same one). */
  async listen(): Promise<number> {
    const server = createServer((client) => this.#pipe(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#port = (server.address() as { port: number }).port;
    return this.#port;
  }

  #pipe(client: Socket): void {
    this.accepted++;
    const upstream = connect(this.#target.port, this.#target.host);
    for (const s of [client, upstream]) {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
      s.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** The database is gone: open connections are reset, new ones refused. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const s of this.#sockets) s.resetAndDestroy();
    this.#sockets.clear();
    await closed;
  }

  async restore(): Promise<void> {
    if (!this.#server) await this.listen();
  }

  close(): Promise<void> {
    return this.cut();
  }
}
