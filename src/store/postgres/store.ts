// The HA Store: PostgreSQL through `pg`, shared by every replica (DESIGN §2-3). Each batch is one
// transaction (record.ts); commits are announced with NOTIFY and other replicas learn about them
// through subscribe(). Failures that mean "cannot commit now" reject with store_unavailable (503).
// The server runs it on a thread of its own (threaded.ts).
import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { AppError } from '../../domain/errors.ts';
import type {
  AlikeSkip, AlikeSkipped, AuditEntry, DecidedRequest, ErrorGroup, ErrorGroupDetail, GroupQuery, GuardHistory, GuardHistoryQuery, HistoryQuery, NewAuditEntry, RecordItem, RecordResult,
  RemediationRequest, Settings, Stats, Store, StoreChange,
} from '../types.ts';
import { assertMigrated, migrate } from './migrations.ts';
import { decodeChange, NOTIFY_CHANNEL } from './notify-payload.ts';
import { PgNotifier } from './notifier.ts';
import type { Delivery, DeliveryQuery, DeliveryResult, NotificationEvent, OutboxPlan, OutboxState, OutboxStateQuery } from '../outbox.ts';
import * as o from './outbox.ts';
import * as q from './queries.ts';
import { prepareBatch, recordBatch } from './record.ts';
import * as r from './remediation.ts';
import { loopStore, type LoopStore } from '../loop.ts';
import { emitChange, notify } from './notify-payload.ts';
import { systemClock, type Clock } from '../../domain/ports.ts';
import { createPool, type RetryPolicy, run, type StoreLogger, transaction, type StallWatch, type TransactionOptions, type Tx, watchStalls } from './session.ts';

/** How many recently recorded occurrence keys a store remembers (about 10 MiB at most). */
const SEEN_KEYS = 50_000;

export interface PostgresStoreOptions {
  /** Where this store reads and writes (the dashboard may point it at a read replica). */
  url: string;
  /** Where LISTEN runs; must be the primary (standbys cannot LISTEN). Default: url. */
  listenUrl?: string;
  /** Dashboard role: read-only sessions, and every write method refuses with read_only_role. */
  readOnly?: boolean;
  maxOccurrences: number;
  logger?: StoreLogger;
  /** Pool size per process (default 10). */
  poolMax?: number;
  /**
   * False when no notification receiver is configured: ingest then writes no outbox events, since
   * nothing would ever deliver them (the notifier consumed them unread; DESIGN §6b). Default true.
   */
  notifyOnIngest?: boolean;
  /** statement_timeout for every statement (default 5000 ms). */
  statementTimeoutMs?: number;
  /** How long to wait for a connection before answering "unavailable" (default 3000 ms). */
  connectTimeoutMs?: number;
  /** Shows up in pg_stat_activity (default `kube-sentinel`). */
  applicationName?: string;
  now?: () => number;
  /** Waits between retries and reconnects (default systemClock). */
  clock?: Pick<Clock, 'sleep'>;
  random?: () => number;
  /** Attempts for a transaction that hit a serialization failure or deadlock (default 4). */
  maxAttempts?: number;
  /** Observability hook: a transaction is being retried. */
  onRetry?: (info: { code: string; attempt: number }) => void;
  /** LISTEN reconnect tuning (tests shorten it). */
  notifier?: { backoff?: { initialMs: number; maxMs: number }; heartbeatMs?: number };
}


// The closed-loop methods (store/loop.ts) are merged in by the constructor.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface PostgresStore extends LoopStore {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly readOnly: boolean;
  /** This instance's identity in NOTIFY payloads (its own announcements are not echoed back). */
  readonly origin: string;
  readonly #pool: Pool;
  readonly #stalls: StallWatch;
  readonly #opts: PostgresStoreOptions;
  readonly #retry: RetryPolicy;
  readonly #now: () => number;
  readonly #listeners = new Set<(change: StoreChange) => void>();
  /** Keys of items that could want an action, recorded lately (prepareBatch's `seen`); emptied at SEEN_KEYS. */
  readonly #seen = new Set<string>();
  #notifier: PgNotifier | null = null;
  #closed = false;

  constructor(opts: PostgresStoreOptions) {
    this.#opts = opts;
    this.readOnly = opts.readOnly ?? false;
    this.#now = opts.now ?? Date.now;
    const random = opts.random ?? Math.random;
    this.origin = randomBytes(8).toString('hex');
    this.#retry = { attempts: opts.maxAttempts ?? 4, sleep: (opts.clock ?? systemClock).sleep, random, onRetry: opts.onRetry };
    this.#pool = createPool({
      url: opts.url,
      readOnly: this.readOnly,
      poolMax: opts.poolMax ?? 10,
      statementTimeoutMs: opts.statementTimeoutMs ?? 5000,
      connectTimeoutMs: opts.connectTimeoutMs ?? 3000,
      applicationName: opts.applicationName ?? 'kube-sentinel',
      logger: opts.logger,
    });
    this.#stalls = watchStalls(this.#pool, opts.statementTimeoutMs ?? 5000, { logger: opts.logger });
    // Single statements: no transaction needed. An approval or manual request made on this replica
    // wakes the leader wherever it runs (NOTIFY).
    Object.assign(this, loopStore(
      (write, fn) => {
        if (write && this.readOnly) return Promise.reject(new AppError('read_only_role'));
        return run(() => fn({ all: async <T>(sql: string, params: unknown[]) => (await this.#pool.query(sql, params)).rows as T[] }));
      },
      () => run(() => notify(this.#pool, this.origin, { groupIds: [], remediationQueued: true })),
    ));
  }

  #read<T>(fn: (pool: Pool) => Promise<T>): Promise<T> {
    return run(() => fn(this.#pool));
  }

  #write<T>(fn: (tx: Tx) => Promise<T>, opts?: TransactionOptions): Promise<T> {
    if (this.readOnly) return Promise.reject(new AppError('read_only_role'));
    return transaction(this.#pool, this.#retry, fn, opts);
  }

  migrate(): Promise<void> {
    return this.readOnly ? assertMigrated(this.#pool, 'store.url') : migrate(this.#pool, this.#retry, 'store.url');
  }

  record(items: RecordItem[]): Promise<RecordResult[]> {
    if (items.length === 0 && !this.readOnly) return Promise.resolve([]);
    // The batch's advisory locks and its read ride with BEGIN (src/store/postgres/record.ts).
    const seen = this.#seen;
    const batch = prepareBatch(items, (key) => seen.has(key));
    return this.#write(
      (tx) => recordBatch(tx, { maxOccurrences: this.#opts.maxOccurrences, origin: this.origin, notify: this.#opts.notifyOnIngest ?? true }, batch),
      { begin: batch.begin },
    ).then((results) => {
      if (seen.size + batch.actingKeys.length > SEEN_KEYS) seen.clear();
      for (const key of batch.actingKeys) seen.add(key);
      return results;
    });
  }

  listGroups(query: GroupQuery): Promise<{ groups: ErrorGroup[]; total: number }> {
    return this.#read((pool) => q.listGroups(pool, query));
  }

  getGroup(id: number, opts: { occurrences?: number } = {}): Promise<ErrorGroupDetail | null> {
    return this.#read((pool) => q.getGroup(pool, id, opts.occurrences ?? this.#opts.maxOccurrences));
  }

  stats(now: number): Promise<Stats> {
    return this.#read((pool) => q.stats(pool, now));
  }

  ruleHits(): Promise<Record<string, number>> {
    return this.#read((pool) => q.ruleHits(pool));
  }

  expire(now: number): Promise<number> {
    return this.#write((tx) => q.expire(tx, now, this.origin));
  }

  prune(before: number): Promise<number> {
    return this.#write((tx) => q.prune(tx, before), { statementTimeout: { ms: q.HOUSEKEEPING_TIMEOUT_MS, stalls: this.#stalls } });
  }

  ping(): Promise<void> {
    return this.#read(async (pool) => { await pool.query('SELECT 1'); });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    await this.#notifier?.stop();
    this.#stalls.stop();
    await this.#pool.end();
  }

  async claimRequest(holder: string, now: number, claimMs: number): Promise<RemediationRequest | null> {
    return (await this.claimRequests(holder, now, claimMs, 1))[0] ?? null;
  }

  claimRequests(holder: string, now: number, claimMs: number, limit: number): Promise<RemediationRequest[]> {
    if (this.readOnly) return Promise.reject(new AppError('read_only_role'));
    return this.#read((pool) => r.claimRequests(pool, holder, now, claimMs, limit));
  }

  finishRequest(id: number, holder: string, result: Parameters<Store['finishRequest']>[2]): Promise<boolean> {
    if (this.readOnly) return Promise.reject(new AppError('read_only_role'));
    return this.#read((pool) => r.finishRequest(pool, id, holder, result));
  }

  appendAudit(entry: NewAuditEntry): Promise<number> {
    return this.#write((tx) => r.appendAudit(tx, entry, this.origin));
  }

  finishDecided(holder: string, decisions: readonly DecidedRequest[]): Promise<Array<number | null>> {
    // One transaction: each request is finished and audited together, or neither.
    return this.#write(async (tx) => {
      const ids: Array<number | null> = [];
      for (const d of decisions) ids.push((await r.finishRequest(tx, d.id, holder, { state: 'done' })) ? await r.appendAudit(tx, d.audit, this.origin) : null);
      return ids;
    });
  }

  skipAlike(holder: string, q: AlikeSkip): Promise<AlikeSkipped[]> {
    return this.#write((tx) => r.skipAlike(tx, holder, q, this.origin));
  }

  listHistory(query: HistoryQuery): Promise<{ entries: AuditEntry[]; total: number }> {
    return this.#read((pool) => r.listHistory(pool, query));
  }

  guardHistory(query: GuardHistoryQuery): Promise<GuardHistory> {
    return this.#read((pool) => r.guardHistory(pool, query));
  }

  getSettings(): Promise<Settings | null> {
    return this.#read((pool) => r.getSettings(pool));
  }

  putSettings(settings: Settings): Promise<void> {
    return this.#write((tx) => r.putSettings(tx, settings, this.#now(), this.origin));
  }

  // notification outbox (src/store/outbox.ts)
  pendingNotificationEvents(limit: number): Promise<NotificationEvent[]> {
    return this.#read((pool) => o.pendingEvents(pool, limit));
  }

  groupsByIds(ids: number[]): Promise<ErrorGroup[]> {
    return this.#read((pool) => o.groupsByIds(pool, ids));
  }

  outboxState(query: OutboxStateQuery): Promise<OutboxState> {
    return this.#read((pool) => o.outboxState(pool, query));
  }

  planNotifications(plan: OutboxPlan, now: number): Promise<boolean> {
    return this.#write((tx) => o.planNotifications(tx, plan, now));
  }

  enqueueRepeats(now: number): Promise<number> {
    return this.#write((tx) => o.enqueueRepeats(tx, now));
  }

  claimDelivery(holder: string, now: number, claimMs: number): Promise<Delivery | null> {
    if (this.readOnly) return Promise.reject(new AppError('read_only_role'));
    return this.#read((pool) => o.claimDelivery(pool, holder, now, claimMs));
  }

  releaseDeliveryClaims(holder: string): Promise<number> {
    if (this.readOnly) return Promise.reject(new AppError('read_only_role'));
    return this.#read((pool) => o.releaseDeliveryClaims(pool, holder));
  }

  finishDelivery(id: number, holder: string, result: DeliveryResult): Promise<boolean> {
    if (this.readOnly) return Promise.reject(new AppError('read_only_role'));
    return this.#read((pool) => o.finishDelivery(pool, id, holder, result));
  }

  listDeliveries(query: DeliveryQuery): Promise<{ deliveries: Delivery[]; total: number }> {
    return this.#read((pool) => o.listDeliveries(pool, query));
  }

  /** Other processes' commits; the LISTEN connection opens with the first subscriber. */
  subscribe(fn: (change: StoreChange) => void): () => void {
    if (this.#closed) return () => {};
    this.#listeners.add(fn);
    if (!this.#notifier) {
      this.#notifier = new PgNotifier({
        url: this.#opts.listenUrl ?? this.#opts.url,
        channel: NOTIFY_CHANNEL,
        applicationName: this.#opts.applicationName ?? 'kube-sentinel',
        connectTimeoutMs: this.#opts.connectTimeoutMs,
        logger: this.#opts.logger,
        clock: this.#opts.clock,
        random: this.#opts.random,
        ...this.#opts.notifier,
        onPayload: (payload) => {
          const decoded = decodeChange(payload);
          if (decoded && decoded.origin !== this.origin) this.#emit(decoded.change);
        },
        onReconnect: () => this.#emit({ groupIds: [], remediationQueued: true }),
      });
      this.#notifier.start();
    }
    return () => { this.#listeners.delete(fn); };
  }

  /** True once the LISTEN connection is up (tests and readiness detail). */
  get listening(): boolean {
    return this.#notifier?.connected ?? false;
  }

  #emit(change: StoreChange): void {
    emitChange(this.#listeners, change, this.#opts.logger);
  }
}
