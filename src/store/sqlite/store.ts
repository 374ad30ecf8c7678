// The embedded Store: one SQLite file in WAL mode through node:sqlite (DESIGN §3). Everything runs
// synchronously on the event loop, so each call is atomic with respect to the others in this process;
// the file lock keeps other processes out.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { AppError, LoadError } from '../../domain/errors.ts';
import type {
  AlikeSkip, AlikeSkipped, AuditEntry, DecidedRequest, ErrorGroup, ErrorGroupDetail, GroupQuery, GuardHistory, GuardHistoryQuery, HistoryQuery, NewAuditEntry, RecordItem, RecordResult,
  RemediationRequest, Settings, Stats, Store,
} from '../types.ts';
import type { FileLock } from './lock.ts';
import { acquireFileLock } from './lock.ts';
import { assertMigrated, migrate } from './migrations.ts';
import type { Delivery, DeliveryQuery, DeliveryResult, NotificationEvent, OutboxPlan, OutboxState, OutboxStateQuery } from '../outbox.ts';
import * as o from './outbox.ts';
import * as q from './queries.ts';
import { recordBatch } from './record.ts';
import { GroupDirectory } from './group-directory.ts';
import { Reasons } from './reasons.ts';
import * as r from './remediation.ts';
import { DEFAULT_INDEX_POLICY, SearchIndexer } from './search-indexer.ts';
import { attachSearch, openSearchFile, trimQueue } from './search-file.ts';
import { Statements } from './statements.ts';
import { systemTimers } from '../../domain/ports.ts';
import { loopStore, toSqlite, type LoopStore } from '../loop.ts';

export interface SqliteStoreOptions {
  /** Database file; its directory is created. `:memory:` works for a throwaway store (no lock). */
  path: string;
  /** Occurrence rows kept per group (store.max_occurrences). */
  maxOccurrences: number;
  /** Dashboard role: open read-only, take no lock, refuse every write. */
  readOnly?: boolean;
  now?: () => number;
  /** How long a statement waits for a competing writer/checkpoint before failing (ms). */
  busyTimeoutMs?: number;
  /**
   * False when another connection checkpoints the WAL (ThreadedSqliteStore's checkpointer thread):
   * commits then stop paying for checkpoints, and SQLite's own only runs as a safety net at 64 MiB.
   */
  autoCheckpoint?: boolean;
  /**
   * False when no notification receiver is configured: ingest then writes no outbox events, since
   * nothing would ever deliver them (the notifier consumed them unread; DESIGN §6b). Default true.
   */
  notifyOnIngest?: boolean;
  /**
   * Who keeps the q= index (search-file.ts) up to date. 'auto': this store, on its own connection when
   * idle; 'manual': nothing until flushSearchIndex() (tests); 'thread': an indexer thread (thread.ts)
   * with its own connection, so this store only reads the search file (attached read-only) and trims
   * the queue (trimSearchQueue). A read-only store reads the file if it is there.
   */
  searchIndexing?: 'auto' | 'manual' | 'thread';
}

// SQLite failures (busy, I/O, full disk, closed handle) mean "cannot commit now": callers answer 503.
function isStorageError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ERR_SQLITE_ERROR' || code === 'ERR_INVALID_STATE';
}

// The closed-loop methods (store/loop.ts) are merged in by the constructor.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface SqliteStore extends LoopStore {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  readonly readOnly: boolean;
  readonly #db: DatabaseSync;
  readonly #stmts: Statements;
  readonly #lock: FileLock | null;
  readonly #maxOccurrences: number;
  readonly #notifyOnIngest: boolean;
  readonly #now: () => number;
  readonly #reasons = new Reasons();
  readonly #directory = new GroupDirectory();
  /** The writer's deferred search indexing; null for a read-only session or with an indexer thread. */
  readonly #indexer: SearchIndexer | null;
  /** Whether the search file is attached to this connection (schema `search`). */
  #search = false;
  #closed = false;

  constructor(opts: SqliteStoreOptions) {
    this.path = opts.path;
    this.readOnly = opts.readOnly ?? false;
    this.#maxOccurrences = opts.maxOccurrences;
    this.#notifyOnIngest = opts.notifyOnIngest ?? true;
    this.#now = opts.now ?? Date.now;
    const memory = opts.path === ':memory:';
    if (!memory && !this.readOnly) mkdirSync(dirname(opts.path), { recursive: true });

    this.#lock = memory || this.readOnly ? null : acquireFileLock(opts.path, this.#now);
    try {
      this.#db = new DatabaseSync(opts.path, { readOnly: this.readOnly, timeout: opts.busyTimeoutMs ?? 5000 });
      if (this.readOnly) {
        // A listing's count walks a whole index at 100k groups: an 8 MiB cache keeps it in memory
        // (the default 2 MiB re-read it from the OS on every request: p50 1.9 → 4.6 ms).
        this.#db.exec('PRAGMA query_only = ON; PRAGMA cache_size = -8192');
      } else {
        // WAL: readers never block the writer. FULL: an acknowledged batch survives power loss; with
        // group commit the extra fsync is paid once per batch, not per request. temp_store: statement
        // journals of multi-index upserts otherwise go to temp files (measured: 2x slower per row).
        this.#db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
          PRAGMA temp_store = MEMORY; PRAGMA cache_size = -16384`);
        if (opts.autoCheckpoint === false) this.#db.exec('PRAGMA wal_autocheckpoint = 16384');
      }
    } catch (err) {
      this.#lock?.release();
      throw new LoadError(opts.path, [{ path: 'store.path', message: `cannot open database: ${(err as Error).message}` }]);
    }
    this.#stmts = new Statements({ db: this.#db });
    const indexing = opts.searchIndexing ?? 'auto';
    this.#indexer = this.readOnly || indexing === 'thread' ? null : new SearchIndexer({
      stmts: this.#stmts, timers: systemTimers, now: () => performance.now(), policy: DEFAULT_INDEX_POLICY, mode: indexing,
    });
    if (this.#indexer) this.#search = attachSearch(this.#db, this.path, true);
    Object.assign(this, loopStore(async (write, fn) => {
      if (write && this.readOnly) throw new AppError('read_only_role');
      // Each statement runs through #run, so storage failures map to store_unavailable as elsewhere.
      return fn({ all: <T>(sql: string, params: unknown[]) => this.#run(() => this.#stmts.get(toSqlite(sql)).all(...params as Array<string | number | null>) as T[]) });
    }));
  }

  /** Runs a synchronous step, mapping storage failures to the catalogue's store_unavailable. */
  async #run<T>(fn: () => T): Promise<T> {
    try {
      return fn();
    } catch (err) {
      if (!isStorageError(err)) throw err;
      const e = new AppError('store_unavailable', `sqlite: ${(err as Error).message}`);
      e.cause = err;
      throw e;
    }
  }

  #write<T>(fn: () => T): Promise<T> {
    if (this.readOnly) return Promise.reject(new AppError('read_only_role'));
    return this.#run(fn);
  }

  migrate(): Promise<void> {
    return this.#run(() => {
      if (this.readOnly) {
        assertMigrated(this.#db, this.path);
        this.#search = attachSearch(this.#db, this.path, false);
        return;
      }
      migrate(this.#db, this.path);
      this.#directory.load(this.#stmts);
      if (!this.#indexer) return;
      // Merging on this connection would hold the single writer: FTS5 merges as it writes.
      openSearchFile(this.#stmts, 'as-written');
      this.#indexer.start();
    });
  }

  /** Indexes every change still queued for q= now (search-indexer.ts); returns how many. */
  flushSearchIndex(): Promise<number> {
    return this.#write(() => this.#indexer!.flush());
  }

  /** With an indexer thread: its search file now covers the queue up to `through` (search-file.ts). */
  trimSearchQueue(through: number): Promise<void> {
    return this.#write(() => trimQueue(this.#stmts, through));
  }

  record(items: RecordItem[]): Promise<RecordResult[]> {
    return this.#write(() => {
      try {
        const results = this.#stmts.transaction(() => recordBatch(this.#stmts, items, {
          maxOccurrences: this.#maxOccurrences, reasons: this.#reasons, directory: this.#directory, notify: this.#notifyOnIngest,
        }));
        this.#reasons.committed();
        this.#directory.committed();
        let created = 0;
        for (const res of results) if (res.outcome === 'new-group') created++;
        this.#indexer?.noteWrite(created);
        return results;
      } catch (err) {
        this.#reasons.rolledBack();
        this.#directory.rolledBack(this.#stmts);
        throw err;
      }
    });
  }

  listGroups(query: GroupQuery): Promise<{ groups: ErrorGroup[]; total: number }> {
    return this.#run(() => {
      // Read-only (a reader, or the writer with an indexer thread): attached once the indexer has made the file.
      if (query.q && !this.#search && !this.#indexer) this.#search = attachSearch(this.#db, this.path, false);
      return q.listGroups(this.#stmts, query, this.#search);
    });
  }

  getGroup(id: number, opts: { occurrences?: number } = {}): Promise<ErrorGroupDetail | null> {
    return this.#run(() => q.getGroup(this.#stmts, id, opts.occurrences ?? this.#maxOccurrences));
  }

  stats(now: number): Promise<Stats> {
    return this.#run(() => q.stats(this.#stmts, now));
  }

  ruleHits(): Promise<Record<string, number>> {
    return this.#run(() => q.ruleHits(this.#stmts));
  }

  expire(now: number): Promise<number> {
    return this.#write(() => q.expire(this.#stmts, now));
  }

  prune(before: number): Promise<number> {
    return this.#write(() => {
      try {
        const deleted = q.prune(this.#stmts, before);
        this.#directory.forget(deleted);
        return deleted.length;
      } finally {
        this.#reasons.forget();
      }
    });
  }

  ping(): Promise<void> {
    return this.#run(() => { this.#stmts.get('SELECT 1').get(); });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#indexer?.stop();
    try {
      this.#db.close();
    } finally {
      this.#lock?.release();
    }
  }

  async claimRequest(holder: string, now: number, claimMs: number): Promise<RemediationRequest | null> {
    return (await this.claimRequests(holder, now, claimMs, 1))[0] ?? null;
  }

  claimRequests(holder: string, now: number, claimMs: number, limit: number): Promise<RemediationRequest[]> {
    return this.#write(() => r.claimRequests(this.#stmts, holder, now, claimMs, limit));
  }

  finishRequest(id: number, holder: string, result: Parameters<Store['finishRequest']>[2]): Promise<boolean> {
    return this.#write(() => r.finishRequest(this.#stmts, id, holder, result));
  }

  appendAudit(entry: NewAuditEntry): Promise<number> {
    return this.#write(() => r.appendAudit(this.#stmts, entry));
  }

  finishDecided(holder: string, decisions: readonly DecidedRequest[]): Promise<Array<number | null>> {
    return this.#write(() => r.finishDecided(this.#stmts, holder, decisions));
  }

  skipAlike(holder: string, q: AlikeSkip): Promise<AlikeSkipped[]> {
    return this.#write(() => r.skipAlike(this.#stmts, holder, q));
  }

  listHistory(query: HistoryQuery): Promise<{ entries: AuditEntry[]; total: number }> {
    return this.#run(() => r.listHistory(this.#stmts, query));
  }

  guardHistory(query: GuardHistoryQuery): Promise<GuardHistory> {
    return this.#run(() => r.guardHistory(this.#stmts, query));
  }

  getSettings(): Promise<Settings | null> {
    return this.#run(() => r.getSettings(this.#stmts));
  }

  putSettings(settings: Settings): Promise<void> {
    return this.#write(() => r.putSettings(this.#stmts, settings, this.#now()));
  }

  // notification outbox (src/store/outbox.ts)
  pendingNotificationEvents(limit: number): Promise<NotificationEvent[]> {
    return this.#run(() => o.pendingEvents(this.#stmts, limit));
  }

  groupsByIds(ids: number[]): Promise<ErrorGroup[]> {
    return this.#run(() => o.groupsByIds(this.#stmts, ids));
  }

  outboxState(query: OutboxStateQuery): Promise<OutboxState> {
    return this.#run(() => o.outboxState(this.#stmts, query));
  }

  planNotifications(plan: OutboxPlan, now: number): Promise<boolean> {
    return this.#write(() => o.planNotifications(this.#stmts, plan, now));
  }

  enqueueRepeats(now: number): Promise<number> {
    return this.#write(() => o.enqueueRepeats(this.#stmts, now));
  }

  claimDelivery(holder: string, now: number, claimMs: number): Promise<Delivery | null> {
    return this.#write(() => o.claimDelivery(this.#stmts, holder, now, claimMs));
  }

  releaseDeliveryClaims(holder: string): Promise<number> {
    return this.#write(() => o.releaseDeliveryClaims(this.#stmts, holder));
  }

  finishDelivery(id: number, holder: string, result: DeliveryResult): Promise<boolean> {
    return this.#write(() => o.finishDelivery(this.#stmts, id, holder, result));
  }

  listDeliveries(query: DeliveryQuery): Promise<{ deliveries: Delivery[]; total: number }> {
    return this.#run(() => o.listDeliveries(this.#stmts, query));
  }
}
