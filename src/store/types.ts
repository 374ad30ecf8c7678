// The Store contract. Two adapters (SQLite via node:sqlite, PostgreSQL via pg) implement it and pass
// one shared contract suite (test/store/contract.ts). Times are epoch milliseconds.
import type {
  ActionName, Classification, ClassificationReason, GroupStatus, Priority, Signal, SourceKind, WorkloadRef,
} from '../domain/types.ts';
import type { OutboxStore } from './outbox.ts';

/** One classified, fingerprinted signal on its way into the store. */
export interface RecordItem {
  /** Group key (hex digest from src/dedup/fingerprint.ts). */
  fingerprint: string;
  signal: Signal;
  classification: Classification;
  /** Display form of the workload, e.g. `Deployment/web` or `Pod/standalone`; '' when unknown. */
  workload: string;
  /** The message after normalisation (what the fingerprint saw). */
  normalizedMessage: string;
  receivedAt: number;
  /** When a firing group that is not re-sent should expire to resolved. */
  expiresAt: number;
}

/** What happened to one item: a pure decision from src/dedup/decide.ts, applied by the store. */
export const RECORD_OUTCOMES = ['new-group', 'new-occurrence', 'count-increase', 'redelivery', 'resolved', 'stale'] as const;
export type RecordOutcome = (typeof RECORD_OUTCOMES)[number];

export interface RecordResult {
  groupId: number;
  outcome: RecordOutcome;
  /** How much the group's count rose because of this item (0 for re-deliveries). */
  countDelta: number;
  /** Set when this item queued a remediation request (same transaction). */
  remediationRequestId: number | null;
}

/** The JSON shape of an error group in the API (`GET /api/errors`). */
export interface ErrorGroup {
  id: number;
  fingerprint: string;
  alertFingerprint: string | null;
  source: SourceKind;
  priority: Priority;
  rule: string | null;
  status: GroupStatus;
  title: string;
  message: string;
  namespace: string;
  pod: string;
  container: string;
  workload: string;
  labels: Record<string, string>;
  count: number;
  firstSeen: string; // ISO 8601
  lastSeen: string;
  resolvedAt: string | null;
  expiresAt: string | null;
  remediation: { action: ActionName; lastOutcome: string | null } | null;
}

export interface Occurrence {
  at: string; // ISO 8601
  channel: string;
  message: string;
  count: number;
  labels: Record<string, string>;
}

export interface ErrorGroupDetail extends ErrorGroup {
  occurrences: Occurrence[];
  why: ClassificationReason;
  remediations: AuditEntry[];
}

export const SORT_KEYS = ['priority', 'lastSeen', 'firstSeen', 'count'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface GroupQuery {
  priority?: Priority[];
  namespace?: string;
  pod?: string;
  rule?: string;
  source?: SourceKind;
  status?: GroupStatus;
  /** Free text: substring of title, message, pod, workload (case-insensitive). */
  q?: string;
  /** Only groups with lastSeen >= since. */
  since?: number;
  sort?: SortKey; // default: priority, then lastSeen desc
  order?: 'asc' | 'desc';
  page: number; // 1-based
  pageSize: number;
}

export interface Stats {
  total: number;
  firing: number;
  byPriority: Record<Priority, number>;
  firingByPriority: Record<Priority, number>;
  bySource: Record<SourceKind, number>;
  occurrencesLastHour: number;
  remediation: { pending: number; actedLastHour: number; escalated: number };
}

// ---- remediation queue, audit and settings (DESIGN §6) ----

export const REQUEST_STATES = ['pending', 'claimed', 'done', 'escalated'] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

export interface RemediationRequest {
  id: number;
  groupId: number;
  fingerprint: string;
  rule: string;
  action: ActionName;
  params: Record<string, string>;
  cooldownMs: number;
  namespace: string;
  pod: string;
  container: string;
  owner: WorkloadRef | null;
  createdAt: number;
  state: RequestState;
  attempts: number;
  nextAttemptAt: number;
  claimedBy: string | null;
  claimedUntil: number | null;
  lastError: string | null;
}

export const AUDIT_OUTCOMES = ['acted', 'dry-run', 'skipped', 'failed', 'escalated'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export interface AuditEntry {
  id: number;
  requestId: number | null;
  groupId: number | null;
  at: string; // ISO 8601
  rule: string;
  action: ActionName;
  namespace: string;
  target: string; // e.g. Deployment/web or Pod/web-abc
  outcome: AuditOutcome;
  /** Named reason from a guard or action, e.g. `cooldown`, `excluded-namespace`, `pod-healthy`. */
  reason: string;
  message: string;
  actor: string; // leader identity
}

export interface NewAuditEntry extends Omit<AuditEntry, 'id' | 'at'> {
  at: number;
  /** Key used for cooldowns and per-workload attempt limits: rule|action|namespace/target. */
  cooldownKey: string;
}

export interface HistoryQuery {
  outcome?: AuditOutcome;
  reason?: string;
  namespace?: string;
  rule?: string;
  groupId?: number;
  page: number;
  pageSize: number;
}

export interface Settings {
  enabled: boolean;
  dryRun: boolean;
  maxActionsPerHour: number;
}

/** Changes committed by another process on the same database (PostgreSQL LISTEN/NOTIFY). */
export interface StoreChange {
  /** Groups whose state changed: feed them to LiveFeed.groupsChanged. */
  groupIds: number[];
  /** A remediation request was queued: wake the leader's worker. */
  remediationQueued: boolean;
  /** Remediation decisions recorded elsewhere: publish each as a `remediation` feed message. */
  audit?: AuditEntry[];
  /** Settings changed elsewhere: publish as a `settings` feed message. */
  settings?: Settings;
}

/** Notification outbox methods (DESIGN §6b) live in ./outbox.ts. */
export interface Store extends OutboxStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Create/upgrade the schema (idempotent; PostgreSQL under an advisory lock). */
  migrate(): Promise<void>;
  /** One transaction for the whole batch: merge by fingerprint, sorted; resolves after commit. */
  record(items: RecordItem[]): Promise<RecordResult[]>;
  listGroups(query: GroupQuery): Promise<{ groups: ErrorGroup[]; total: number }>;
  getGroup(id: number, opts?: { occurrences?: number }): Promise<ErrorGroupDetail | null>;
  stats(now: number): Promise<Stats>;
  /** Hits per rule name (sum of group counts); unmatched signals under the key ''. */
  ruleHits(): Promise<Record<string, number>>;
  /** Mark firing groups whose expiresAt < now as resolved; returns how many. */
  expire(now: number): Promise<number>;
  /** Delete groups (and their occurrences, dedup keys) last seen before `before`; returns how many. */
  prune(before: number): Promise<number>;
  /** Cheap liveness query; rejects when the store cannot answer. */
  ping(): Promise<void>;
  close(): Promise<void>;

  // remediation
  /** Atomically claim the oldest due request (pending, or claimed with an expired claim). */
  claimRequest(holder: string, now: number, claimMs: number): Promise<RemediationRequest | null>;
  /** Finish a claimed request; only the current claim holder may; returns false otherwise. */
  finishRequest(id: number, holder: string, result:
    | { state: 'done' | 'escalated'; error?: string }
    | { state: 'pending'; nextAttemptAt: number; error: string }): Promise<boolean>;
  appendAudit(entry: NewAuditEntry): Promise<number>;
  listHistory(query: HistoryQuery): Promise<{ entries: AuditEntry[]; total: number }>;
  /** Last `acted` (or `dry-run` when includeDryRun) time for a cooldown key, or null. */
  lastActionAt(cooldownKey: string, includeDryRun: boolean): Promise<number | null>;
  /** How many `acted` entries since `since` (sliding window for the hourly budget). */
  countActedSince(since: number): Promise<number>;
  /** How many `acted`/`failed` entries for a cooldown key since `since` (max attempts per workload). */
  countAttemptsSince(cooldownKey: string, since: number): Promise<number>;
  /** Settings persisted in the store; null when never set (callers fall back to config). */
  getSettings(): Promise<Settings | null>;
  putSettings(settings: Settings): Promise<void>;

  /**
   * Optional: adapters shared by several processes report other processes' commits here (this
   * process's own commits are not echoed). After a lost connection it reports one change with
   * `remediationQueued: true` and no ids, since notifications sent meanwhile are gone. Returns an
   * unsubscribe function. Absent on SQLite, which has a single process by construction.
   */
  subscribe?(fn: (change: StoreChange) => void): () => void;
}
