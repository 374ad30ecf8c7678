// Search indexing on the writer's own connection and thread (search-file.ts), for a store without an
// indexer thread: an in-memory database, the tests, bench/wal.ts. (ThreadedSqliteStore indexes a
// database file on a thread of its own: IndexerLoop below, run by thread.ts.) The ingest transaction
// only queues a change; this moves queued changes into the index in chunks, off the acknowledgement
// path: when the writer has been idle for a moment, in chunks of 2000, or under load once the backlog
// reaches its bound (q= reads every queued group with the exact test, so the bound is also what a
// search scans beyond the index), in chunks of 250: a 2000-group chunk holds the single writer for
// ~100 ms at 60k groups, and every request waiting on a commit would wait that long.
import type { Timers } from '../../domain/ports.ts';
import { indexChunk, mergeStep } from './search-file.ts';
import type { Statements } from './statements.ts';

export interface IndexPolicy {
  /** Index once no write came for this long (ms). */
  idleMs: number;
  /** Groups per indexing transaction when the writer is idle. */
  chunk: number;
  /** Groups per indexing transaction under load (the backlog reached maxBacklog). */
  loadChunk: number;
  /** At this many pending groups the indexer runs under load as well. */
  maxBacklog: number;
}

export const DEFAULT_INDEX_POLICY: IndexPolicy = { idleMs: 20, chunk: 2000, loadChunk: 250, maxBacklog: 1000 };

export type IndexDecision =
  | { run: true; reason: 'idle' | 'backlog'; chunk: number }
  | { run: false; reason: 'empty' }
  | { run: false; reason: 'busy'; retryMs: number };

/** Pure: index a chunk now, or why not. */
export function indexDecision(backlog: number, sinceWriteMs: number, p: IndexPolicy): IndexDecision {
  if (backlog <= 0) return { run: false, reason: 'empty' };
  if (sinceWriteMs >= p.idleMs) return { run: true, reason: 'idle', chunk: p.chunk };
  if (backlog >= p.maxBacklog) return { run: true, reason: 'backlog', chunk: p.loadChunk };
  return { run: false, reason: 'busy', retryMs: p.idleMs - sinceWriteMs };
}

/** Indexes up to `limit` queued changes (or rebuilds) and trims the queue, in one transaction. */
function indexPending(stmts: Statements, limit: number): number {
  return indexChunk(stmts, limit, true).n;
}

export interface SearchIndexerOptions {
  stmts: Statements;
  timers: Timers;
  /** Monotonic milliseconds. */
  now: () => number;
  policy: IndexPolicy;
  /** 'manual': nothing runs on its own; flush() indexes (tests that need groups to stay pending). */
  mode: 'auto' | 'manual';
}

/** Schedules indexPending on the writer's own connection and thread; every step is one short transaction. */
export class SearchIndexer {
  readonly #o: SearchIndexerOptions;
  #backlog = 0;
  #lastWrite = Number.NEGATIVE_INFINITY;
  #timer: unknown = null;
  #stopped = false;

  constructor(o: SearchIndexerOptions) {
    this.#o = o;
  }

  /** After migration and openSearchFile(): a rebuild, or what an earlier run left queued, runs first. */
  start(): void {
    this.#backlog = 1;
    this.#arm(this.#o.policy.idleMs);
  }

  /** After a committed write that created `created` groups. */
  noteWrite(created: number): void {
    this.#backlog += created;
    this.#lastWrite = this.#o.now();
    this.#arm(this.#o.policy.idleMs);
  }

  /** Indexes everything pending now; returns how many groups. */
  flush(): number {
    let total = 0;
    let n: number;
    do {
      n = indexPending(this.#o.stmts, this.#o.policy.chunk);
      total += n;
    } while (n > 0);
    this.#backlog = 0;
    return total;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) this.#o.timers.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #arm(ms: number): void {
    if (this.#stopped || this.#timer !== null || this.#backlog <= 0 || this.#o.mode === 'manual') return;
    this.#timer = this.#o.timers.setTimeout(() => {
      this.#timer = null;
      this.#tick();
    }, ms);
  }

  #tick(): void {
    const d = indexDecision(this.#backlog, this.#o.now() - this.#lastWrite, this.#o.policy);
    if (!d.run) {
      if (d.reason === 'busy') this.#arm(d.retryMs);
      return;
    }
    let n: number;
    try {
      n = indexPending(this.#o.stmts, d.chunk);
    } catch {
      // Busy or failing storage: the groups stay pending (and searchable); try again later.
      this.#arm(10 * this.#o.policy.idleMs);
      return;
    }
    this.#backlog = n < d.chunk ? 0 : Math.max(1, this.#backlog - n);
    this.#arm(0);
  }
}

/** Pages per merge step (search-file.ts mergeStep): a bound on how long one step holds the indexer thread. */
const MERGE_PAGES = 500;

/**
 * The indexer thread's schedule (thread.ts): a chunk whenever changes are queued, at once while the
 * chunks come back full, else after `intervalMs`; with nothing queued, a step of merging the index's
 * segments level by level until no level needs it (searches read every segment; the file is opened
 * 'when-idle', so FTS5 does not merge as it writes, search-file.ts). It has the search file's write
 * lock to itself, so none of this holds up the ingest writer; `onIndexed` reports how far the file now
 * covers (the writer trims the queue below that).
 */
export class IndexerLoop {
  readonly #stmts: Statements;
  readonly #timers: Timers;
  readonly #o: { chunk: number; intervalMs: number; onIndexed: (through: number) => void };
  #timer: unknown = null;
  #through = -1;
  /** Segments may be left to merge: something was indexed since the last merge found no work. */
  #unmerged = true;

  constructor(stmts: Statements, timers: Timers, o: { chunk: number; intervalMs: number; onIndexed: (through: number) => void }) {
    this.#stmts = stmts;
    this.#timers = timers;
    this.#o = o;
  }

  start(): void {
    this.#schedule(0);
  }

  stop(): void {
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(ms: number): void {
    this.#timer = this.#timers.setTimeout(() => this.#tick(), ms);
  }

  #tick(): void {
    let full = false;
    try {
      const r = indexChunk(this.#stmts, this.#o.chunk, false);
      full = r.n >= this.#o.chunk;
      if (r.n > 0) this.#unmerged = true;
      else if (this.#unmerged) this.#unmerged = mergeStep(this.#stmts, MERGE_PAGES);
      if (r.through !== this.#through) {
        this.#through = r.through;
        this.#o.onIndexed(r.through);
      }
    } catch {
      // Busy or failing storage: the changes stay queued (and searchable); the next tick tries again.
    }
    this.#schedule(full ? 0 : this.#o.intervalMs);
  }
}
