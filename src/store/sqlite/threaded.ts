// SQLite on its own thread. node:sqlite is synchronous: on the main thread every commit (fsync
// included) stalls HTTP parsing for everyone. Here the event loop keeps reading and classifying
// requests while the worker commits, and the next group-commit batch grows in the meantime.
// Same Store contract (the shared suite runs against this class too).
import type { Worker } from 'node:worker_threads';
import { systemTimers } from '../../domain/ports.ts';
import type { Store } from '../types.ts';
import { forwardedLoopStore, type LoopStore } from '../loop.ts';
import type { SqliteStoreOptions } from './store.ts';
import { supervise } from './supervise.ts';
import { pack, type PackedChunk, toWire, transferables } from '../wire.ts';
import { CALL_METHODS, type CallMethods, Channel, entryUrl, forwarded, READ_METHODS, type ReadMethods, startThread } from '../threads.ts';

type Method = Exclude<keyof Store, 'kind' | 'subscribe'>;
type Call<M extends Method> = Store[M] extends (...a: infer A) => infer R ? { args: A; result: R } : never;

const THREAD_URL = entryUrl(import.meta.url, 'thread');

type ThreadedSqliteOptions = Omit<SqliteStoreOptions, 'now' | 'autoCheckpoint'> & {
  /**
   * For a writable file: the dashboard's reads (listings, details, statistics, history) on a second
   * thread with its own read-only connection, so they never queue behind a commit or its fsync on
   * the writer's thread (WAL readers do not block the writer). Default true.
   */
  readerThread?: boolean;
};

const CHECKPOINT_EVERY_MS = 250;
/** The indexer thread's chunk and pause (search-indexer.ts IndexerLoop), and how often the writer trims the queue. */
const INDEX_CHUNK = 2000;
const INDEX_EVERY_MS = 50;
const TRIM_EVERY_MS = 1000;
/** Pause before a dead indexer thread is replaced (and between failed starts). */
const INDEXER_RESTART_MS = 1000;

// The closed-loop methods (store/loop.ts) and the plain calls (threads.ts) run on the thread; the
// constructor merges in forwarders.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface ThreadedSqliteStore extends LoopStore, ReadMethods, CallMethods {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class ThreadedSqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly #writer: Channel;
  readonly #checkpointer: Worker | null;
  /** Keeps the search file up to date; started by migrate() for a writable file. */
  #indexer: Worker | null = null;
  #trim: { through: number; timer: NodeJS.Timeout | null } = { through: 0, timer: null };
  /** The dashboard's reads (#read) on their own read-only connection; null until migrated, without one, or for a read-only store. */
  #reader: Channel | null = null;
  /** record() calls the writer has not answered yet. */
  #recording = 0;
  readonly #readerData: object | null;

  /** The database file the indexer thread indexes; null for a read-only or in-memory store (indexed on the writer, if at all). */
  readonly #indexerPath: string | null;

  private constructor(worker: Worker, checkpointer: Worker | null, readerData: object | null, indexerPath: string | null) {
    this.#writer = new Channel(worker, 'sqlite worker');
    this.#checkpointer = checkpointer;
    this.#readerData = readerData;
    this.#indexerPath = indexerPath;
    const call = (method: string, args: unknown[]) => this.#writer.call(method, args);
    Object.assign(this, forwardedLoopStore(call), forwarded(CALL_METHODS, call), forwarded(READ_METHODS, (method, args) => this.#read(method, args)));
  }

  /**
   * Starts the writer thread and opens the database there (taking the single-writer lock), then — for
   * a writable file — the checkpointer thread, once the writer has put the file in WAL mode. The
   * reader thread starts after migrate(), when the schema it checks is in place.
   */
  static async open(opts: ThreadedSqliteOptions): Promise<ThreadedSqliteStore> {
    const writable = !opts.readOnly && opts.path !== ':memory:';
    const worker = await startThread(THREAD_URL, 'sqlite-store', { ...opts, autoCheckpoint: !writable, ...(writable ? { searchIndexing: 'thread' } : {}) }, 8);
    let checkpointer: Worker | null = null;
    if (writable) {
      try {
        checkpointer = await startThread(THREAD_URL, 'sqlite-checkpt', { checkpointer: true, path: opts.path, intervalMs: CHECKPOINT_EVERY_MS }, 2);
      } catch (err) {
        await worker.terminate();
        throw err;
      }
    }
    const readerData = writable && opts.readerThread !== false ? { ...opts, readOnly: true } : null;
    return new ThreadedSqliteStore(worker, checkpointer, readerData, writable ? opts.path : null);
  }

  #call<M extends Method>(method: M, ...args: Call<M>['args']): Call<M>['result'] {
    return this.#writer.call(method, args) as Call<M>['result'];
  }

  /**
   * A dashboard read: on the reader's thread while ingest batches are committing, so it does not wait
   * for them; otherwise on the writer's, whose page cache is warm (SQLite empties a connection's cache
   * whenever another connection has committed, so the reader starts cold after every write, and
   * between batches the writer's own work is short).
   */
  #read(method: string, args: unknown[]): Promise<unknown> {
    const reader = this.#reader && !this.#reader.dead && this.#recording > 0 ? this.#reader : this.#writer;
    return reader.call(method, args);
  }

  record: Store['record'] = (items) => this.#recorded(() => this.#call('record', toWire(items)));

  /** On arrival (wire.ts): a submission of 16 items or more is serialized and waits for its batch outside the JS heap. */
  pack: NonNullable<Store['pack']> = (items) => pack(items);

  /** The chunks' buffers move to the store thread (transferred, not copied). */
  recordPacked: NonNullable<Store['recordPacked']> = (chunks) => {
    const packed = chunks as PackedChunk[];
    return this.#recorded(() => this.#writer.call('recordPacked', [packed], transferables(packed)) as ReturnType<Store['record']>);
  };

  async #recorded<T>(call: () => Promise<T>): Promise<T> {
    this.#recording++;
    try {
      return await call();
    } finally {
      this.#recording--;
    }
  }

  /** The writer's thread died (the reader, checkpointer and indexer are optional or replaced). */
  failure: NonNullable<Store['failure']> = () => this.#writer.failed?.message ?? null;

  /**
   * Migrates on the writer, starts the indexer thread (which opens the search file), then opens the
   * reader's connection (best effort: without it, reads stay on the writer).
   */
  migrate: Store['migrate'] = async () => {
    await this.#call('migrate');
    if (this.#indexerPath !== null && this.#indexer === null) await this.#startIndexer(this.#indexerPath);
    if (this.#readerData === null || this.#reader !== null) return;
    let worker: Worker | undefined;
    try {
      worker = await startThread(THREAD_URL, 'sqlite-reader', this.#readerData, 4);
      const reader = new Channel(worker, 'sqlite reader');
      await reader.call('migrate', []);
      this.#reader = reader;
    } catch {
      // The writer's thread still answers every read; a reader that started but failed is not left running.
      await worker?.terminate();
    }
  };

  /**
   * Starts the indexer thread; should it ever die, another takes over a second later (until close), so
   * the queue keeps being indexed and trimmed. Failing to start at all fails migrate().
   */
  async #startIndexer(path: string): Promise<void> {
    await supervise(async () => {
      const worker = await startThread(THREAD_URL, 'sqlite-indexer', { indexer: true, path, chunk: INDEX_CHUNK, intervalMs: INDEX_EVERY_MS }, 4);
      worker.on('message', (msg: { indexed?: number }) => { if (msg.indexed !== undefined) this.#indexed(msg.indexed); });
      worker.on('error', () => {});
      return worker;
    }, { wanted: () => !this.#writer.dead, delayMs: INDEXER_RESTART_MS, timers: systemTimers, onStarted: (w) => { this.#indexer = w; } });
  }

  /** The indexer's file covers the queue up to `through`: the writer trims it, at most once a TRIM_EVERY_MS. */
  #indexed(through: number): void {
    this.#trim.through = through;
    if (this.#trim.timer !== null) return;
    this.#trim.timer = setTimeout(() => {
      this.#trim.timer = null;
      this.#writer.call('trimSearchQueue', [this.#trim.through]).catch(() => {
        // Busy or closed: the next report trims further; queued rows below `through` are only skipped by q=.
      });
    }, TRIM_EVERY_MS).unref();
  }

  async #stopThread(c: Worker | null): Promise<void> {
    if (!c) return;
    // Let it close its connection cleanly (a final checkpoint is the writer's close, not ours).
    await new Promise<void>((resolve) => {
      const closed = (msg: { closed?: boolean }) => {
        if (!msg.closed) return;
        clearTimeout(done);
        c.off('message', closed);
        resolve();
      };
      const done = setTimeout(() => { c.off('message', closed); resolve(); }, 1000);
      c.on('message', closed);
      c.postMessage({ close: true });
    });
    await c.terminate();
  }

  async close(): Promise<void> {
    if (this.#writer.dead) return;
    try {
      await this.#writer.close();
    } finally {
      await this.#reader?.close().catch(() => {});
      if (this.#trim.timer !== null) clearTimeout(this.#trim.timer);
      await this.#stopThread(this.#indexer);
      await this.#stopThread(this.#checkpointer);
    }
  }
}
