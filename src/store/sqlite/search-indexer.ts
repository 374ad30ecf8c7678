// Deferred search indexing (search-schema.ts V7). The ingest transaction only notes a new group in
// search_pending; this moves pending groups into the FTS5 index in chunks, off the acknowledgement
// path: when the writer has been idle for a moment, in chunks of 2000, or under load once the backlog
// reaches its bound (q= reads every pending group with the exact test, so the bound is also what a
// search scans beyond the index), in chunks of 250. Chunks of 250 to 2000 cost the same CPU per group
// (and far less than indexing inside each ingest commit: bench/wal.ts, docs/benchmarks.md), but a
// 2000-group chunk holds the single writer for ~100 ms at 60k groups, and every request waiting on a
// commit waits that long: under load the chunks stay short (worst ~40 ms, with FTS5's merges).
import type { Timers } from '../../domain/ports.ts';
import { INDEX_PENDING } from './search-schema.ts';
import { one, type Statements } from './statements.ts';

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

/** Moves up to `limit` pending groups (lowest ids first) into the index, in one transaction. */
function indexPending(stmts: Statements, limit: number): number {
  return stmts.transaction(() => {
    const chunk = one<{ last: number | null; n: number }>(stmts.get(
      'SELECT max(group_id) AS last, count(*) AS n FROM (SELECT group_id FROM search_pending ORDER BY group_id LIMIT ?)'), limit)!;
    if (chunk.last === null) return 0;
    for (const sql of INDEX_PENDING) stmts.get(sql).run(chunk.last);
    return chunk.n;
  });
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

  /** After migration: what an earlier run left pending is indexed as well. */
  start(): void {
    this.#backlog = one<{ n: number }>(this.#o.stmts.get('SELECT count(*) AS n FROM search_pending'))!.n;
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
