// PostgreSQL on its own thread (issue #12). On the main thread node-pg's protocol work, the batch's
// array texts and the parsing of every answer were CPU on the thread that also parses HTTP, and with
// cores idle that thread set the ingest rate. Here the main thread classifies and packs; the store
// thread builds the batch's statements, talks to PostgreSQL and keeps the LISTEN connection. One
// message per batch crosses, as for the threaded SQLite store. Same Store contract (the shared suite
// runs against this class too).
import type { Worker } from 'node:worker_threads';
import type { Store, StoreChange } from '../types.ts';
import { forwardedLoopStore, type LoopStore } from '../loop.ts';
import { pack, type PackedChunk, toWire, transferables } from '../wire.ts';
import { CALL_METHODS, type CallMethods, Channel, entryUrl, forwarded, READ_METHODS, type ReadMethods, startThread } from '../threads.ts';
import { emitChange } from './notify-payload.ts';
import type { PostgresStoreOptions } from './store.ts';
import type { StoreLogger } from './session.ts';
import type { ThreadEvent } from './thread.ts';

const THREAD_URL = entryUrl(import.meta.url, 'thread');

/** What crosses to the thread: data only (its clock and randomness are the thread's own). */
export type ThreadedPostgresOptions = Omit<PostgresStoreOptions, 'now' | 'clock' | 'random' | 'onRetry' | 'logger'> & {
  logger?: StoreLogger;
  /** record() batches in flight at once from this process's group committer (default 2). */
  recordConcurrency?: number;
};

/** The thread's young generation: batches of at most 500 slim items and their answers. */
const YOUNG_GENERATION_MB = 16;

// The closed-loop methods (store/loop.ts) and every plain call (threads.ts) run on the thread; the
// constructor merges in forwarders.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface ThreadedPostgresStore extends LoopStore, ReadMethods, CallMethods {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class ThreadedPostgresStore implements Store {
  readonly kind = 'postgres' as const;
  /**
   * Batches committing at once (src/store/batcher.ts): while one waits on its round trips and its WAL
   * flush, the next is already on its way; each is its own transaction under the same advisory locks
   * that keep replicas apart, so this is what several replicas do already.
   */
  readonly recordConcurrency: number;
  readonly #channel: Channel;
  readonly #listeners = new Set<(change: StoreChange) => void>();
  readonly #logger: StoreLogger | undefined;
  #subscribed = false;
  #closed = false;

  private constructor(worker: Worker, opts: ThreadedPostgresOptions) {
    this.recordConcurrency = Math.max(1, opts.recordConcurrency ?? 2);
    this.#logger = opts.logger;
    this.#channel = new Channel(worker, 'postgres store thread');
    worker.on('message', (msg: Partial<ThreadEvent>) => this.#event(msg));
    // An uncaught error ends the thread: its stack goes to the log (the callers see only the message).
    worker.on('error', (err: Error) => this.#logger?.warn({ err: err.stack ?? err.message }, 'postgres: store thread failed'));
    worker.on('exit', (code) => {
      if (!this.#closed) this.#logger?.warn({ code }, 'postgres: store thread exited; the store answers unavailable');
    });
    const call = (method: string, args: unknown[]) => this.#channel.call(method, args);
    Object.assign(this, forwardedLoopStore(call), forwarded(CALL_METHODS, call), forwarded(READ_METHODS, call));
  }

  /** Starts the thread and builds the pool there (no connection yet: migrate() and ping() make the first). */
  static async open(opts: ThreadedPostgresOptions): Promise<ThreadedPostgresStore> {
    const { logger, recordConcurrency: _, ...data } = opts;
    const worker = await startThread(THREAD_URL, 'pg-store', data, YOUNG_GENERATION_MB);
    return new ThreadedPostgresStore(worker, opts);
  }

  #event(msg: Partial<ThreadEvent>): void {
    if ('change' in msg && msg.change) {
      emitChange(this.#listeners, msg.change, this.#logger);
    } else if ('log' in msg && msg.log) {
      this.#logger?.[msg.log](msg.obj ?? {}, msg.msg ?? '');
    }
  }

  migrate: Store['migrate'] = () => this.#channel.call('migrate', []) as Promise<void>;

  record: Store['record'] = (items) => this.#channel.call('record', [toWire(items)]) as ReturnType<Store['record']>;

  /** On arrival (wire.ts): a submission of 16 items or more is serialized and waits for its batch outside the JS heap. */
  pack: NonNullable<Store['pack']> = (items) => pack(items);

  /** The chunks' buffers move to the store thread (transferred, not copied). */
  recordPacked: NonNullable<Store['recordPacked']> = (chunks) => {
    const packed = chunks as PackedChunk[];
    return this.#channel.call('recordPacked', [packed], transferables(packed)) as ReturnType<Store['record']>;
  };

  /** Other processes' commits; the thread opens its LISTEN connection with the first subscriber. */
  subscribe(fn: (change: StoreChange) => void): () => void {
    if (this.#closed) return () => {};
    this.#listeners.add(fn);
    if (!this.#subscribed) {
      this.#subscribed = true;
      this.#channel.call('subscribe', []).catch(() => {
        // The thread is gone: every call answers unavailable, which readiness reports.
      });
    }
    return () => { this.#listeners.delete(fn); };
  }

  failure: NonNullable<Store['failure']> = () => this.#channel.failed?.message ?? null;

  /** True once the thread's LISTEN connection is up (tests). */
  listening(): Promise<boolean> {
    return this.#channel.call('listening', []) as Promise<boolean>;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    await this.#channel.close();
  }
}
