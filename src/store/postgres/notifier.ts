// One dedicated LISTEN connection per process (pooled connections are handed around, so they cannot
// hold a subscription). It reconnects by itself after an outage with jittered exponential backoff,
// and probes the connection periodically because an idle connection on a silently broken network
// path would otherwise look alive for as long as TCP keepalive takes to notice.
import { Client } from 'pg';
import { systemClock, type Clock } from '../../domain/ports.ts';
import type { StoreLogger } from './session.ts';

export interface PgNotifierOptions {
  url: string;
  channel: string;
  applicationName: string;
  onPayload: (payload: string | undefined) => void;
  /** The connection came back after a loss: notifications sent meanwhile are gone. */
  onReconnect: () => void;
  connectTimeoutMs?: number;
  /** Probe interval on the idle connection; 0 disables. */
  heartbeatMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  clock?: Pick<Clock, 'sleep'>;
  random?: () => number;
  logger?: StoreLogger;
}


export class PgNotifier {
  readonly #opts: PgNotifierOptions;
  readonly #sleep: Clock['sleep'];
  readonly #random: () => number;
  #client: Client | null = null;
  #stopped = false;
  #stop!: () => void;
  readonly #stopSignal = new Promise<void>((resolve) => { this.#stop = resolve; });
  #loop: Promise<void> | null = null;
  #connected = false;

  constructor(opts: PgNotifierOptions) {
    this.#opts = opts;
    this.#sleep = (opts.clock ?? systemClock).sleep;
    this.#random = opts.random ?? Math.random;
  }

  /** True while the LISTEN connection is established. */
  get connected(): boolean {
    return this.#connected;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stop();
    await this.#client?.end().catch(() => {});
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { initialMs, maxMs } = this.#opts.backoff ?? { initialMs: 250, maxMs: 30_000 };
    let failures = 0;
    let everConnected = false;
    while (!this.#stopped) {
      const lost = await this.#session(() => {
        failures = 0;
        if (everConnected) this.#opts.onReconnect();
        everConnected = true;
      });
      if (this.#stopped) break;
      this.#opts.logger?.warn({ err: lost.message, failures }, 'postgres: LISTEN connection lost; reconnecting');
      // Full jitter: replicas that lost the database together do not reconnect in lockstep.
      const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(failures, 20));
      failures++;
      await Promise.race([this.#sleep(this.#random() * ceiling), this.#stopSignal]);
    }
  }

  /** Connects, listens, and resolves with the reason once the connection is gone. */
  async #session(onListening: () => void): Promise<Error> {
    const client = new Client({
      connectionString: this.#opts.url,
      application_name: `${this.#opts.applicationName} (listen)`,
      connectionTimeoutMillis: this.#opts.connectTimeoutMs ?? 5000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      query_timeout: this.#opts.connectTimeoutMs ?? 5000,
    });
    this.#client = client;
    let heartbeat: NodeJS.Timeout | undefined;
    const gone = new Promise<Error>((resolve) => {
      client.on('error', resolve);
      client.on('end', () => resolve(new Error('connection ended')));
    });
    try {
      if (this.#stopped) return new Error('stopped');
      client.on('notification', (msg) => {
        if (msg.channel === this.#opts.channel) this.#opts.onPayload(msg.payload);
      });
      await client.connect();
      // The channel is a fixed identifier of ours; LISTEN takes no bind parameters.
      await client.query(`LISTEN ${this.#opts.channel}`);
      this.#connected = true;
      onListening();
      const every = this.#opts.heartbeatMs ?? 30_000;
      if (every > 0) {
        heartbeat = setInterval(() => {
          client.query('SELECT 1').catch((err: Error) => {
            // A probe that cannot complete means the path is dead: drop it so the loop reconnects.
            client.emit('error', err);
          });
        }, every);
        heartbeat.unref();
      }
      return await gone;
    } catch (err) {
      return err as Error;
    } finally {
      this.#connected = false;
      clearInterval(heartbeat);
      this.#client = null;
      await client.end().catch(() => {});
    }
  }
}
