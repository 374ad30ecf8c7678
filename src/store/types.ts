// The Store contract. Two adapters (SQLite via node:sqlite, PostgreSQL via pg) implement it and pass
// one shared contract suite (test/store/contract.ts). Times are epoch milliseconds.
import type {
  RecordOutcome,
  ActionName, Classification, ClassificationReason, GroupStatus, Priority, Signal, SourceKind, WorkloadRef,
} from '../domain/types.ts';
import type { GroupCount, Intent, IntentState, NewIntent, NewVerification, Suspension, Verification, VerifyOutcome } from './loop-types.ts';
import type { OutboxStore } from './outbox.ts';

export type * from './loop-types.ts';

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

interface Occurrence {
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

export const REQUEST_STATES = [
  'pending', 'awaiting-approval', 'claimed', 'done', 'escalated', 'expired', 'rejected', 'suspended',
] as const;
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
  /** The plan in words while awaiting approval ("would delete pod shop/web-1 (CrashLoopBackOff), grace 30s"). */
  plan: string | null;
  approvalExpiresAt: number | null;
  /** A human approved it: the next run acts without asking again (every guard still runs). */
  approved: boolean;
  /** Who approved/rejected (a stable non-secret token id or configured name), and their comment. */
  decidedBy: string | null;
  decisionComment: string | null;
  /** Queued by POST /api/errors/:id/remediate with force: cooldown and hourly budget are skipped. */
  force: boolean;
  /** Who queued it by hand; null when ingest did. */
  requestedBy: string | null;
}

/** A decision that ends a request without acting (Store.finishDecided). */
export interface DecidedRequest {
  id: number;
  audit: NewAuditEntry;
}

/** Store.skipAlike: the request whose cooldown skip is shared, when, its audit entry, and how many at most. */
export interface AlikeSkip {
  like: number;
  now: number;
  audit: NewAuditEntry;
  limit: number;
}

/** A request decided by Store.skipAlike, and its audit entry's id. */
export interface AlikeSkipped {
  requestId: number;
  groupId: number;
  auditId: number;
}

/** A request queued by hand (POST /api/errors/:id/remediate). */
export interface NewRequest extends Pick<RemediationRequest,
  'groupId' | 'fingerprint' | 'rule' | 'action' | 'params' | 'cooldownMs' | 'namespace' | 'pod' | 'container' | 'owner'> {
  at: number;
  force: boolean;
  requestedBy: string;
}

export interface RequestQuery {
  state?: RequestState;
  groupId?: number;
  page: number;
  pageSize: number;
}

export const AUDIT_OUTCOMES = [
  'acted', 'dry-run', 'skipped', 'failed', 'escalated',
  // DESIGN §6a: approval decisions, and the checked outcome of an action.
  'awaiting-approval', 'approved', 'rejected', 'expired', 'effective', 'ineffective',
] as const;
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

export interface GuardHistoryQuery {
  cooldownKey: string;
  /** Count `dry-run` entries as actions for the cooldown (dry-run mode). */
  includeDryRun: boolean;
  /** Start of the hourly budget's sliding window. */
  actedSince: number;
  /** Start of the attempt window for the cooldown key. */
  attemptsSince: number;
}

export interface GuardHistory {
  /** Last `acted` (or `dry-run` when includeDryRun) time for the cooldown key, or null. */
  lastActionAt: number | null;
  /** `acted` entries since actedSince, every key (the hourly budget). */
  actedLastHour: number;
  /** `acted`/`failed` entries for the cooldown key since attemptsSince (max attempts per workload). */
  attempts: number;
}

export interface Settings {
  enabled: boolean;
  dryRun: boolean;
  maxActionsPerHour: number;
  /** Every action waits for a human (DESIGN §6a); absent in settings stored before it existed. */
  requireApproval?: boolean;
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

/** Items packed by Store.pack(): opaque to everyone but the store; `count` items, recorded whole. */
export interface PackedItems { readonly count: number }

/** Notification outbox methods (DESIGN §6b) live in ./outbox.ts. */
export interface Store extends OutboxStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Create/upgrade the schema (idempotent; PostgreSQL under an advisory lock). */
  migrate(): Promise<void>;
  /** One transaction for the whole batch: merge by fingerprint, sorted; resolves after commit. */
  record(items: RecordItem[]): Promise<RecordResult[]>;
  /** How many record() calls may run at once (the group committer's batches in flight); absent: 1. */
  readonly recordConcurrency?: number;
  /**
   * Optional: pack() turns a submission into whole chunks on arrival, recordPacked() records a batch
   * of them as record() would. The threaded stores (SQLite, PostgreSQL) keep slim items
   * (src/store/slim.ts) and serialize submissions of 16 or more, so they wait for their batch off the
   * JS heap: a waiting submission holds only what the store writes, not copied and promoted by every
   * scavenge (issue #12), and crosses to the store thread by transfer.
   */
  pack?(items: RecordItem[]): PackedItems[];
  recordPacked?(chunks: PackedItems[]): Promise<RecordResult[]>;
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
  /**
   * Optional: why this store can never answer again in this process (its store thread exited or
   * threw), else null. Liveness (/healthz) fails on it, so Kubernetes restarts the pod instead of
   * leaving it unready. A thread that hangs without exiting is not seen here; readiness's ping is.
   */
  failure?(): string | null;
  close(): Promise<void>;

  // remediation
  /** Atomically claim the oldest due request (pending, or claimed with an expired claim). */
  claimRequest(holder: string, now: number, claimMs: number): Promise<RemediationRequest | null>;
  /** The same for up to `limit` due requests in one commit, oldest first (a leader working through a storm). */
  claimRequests(holder: string, now: number, claimMs: number, limit: number): Promise<RemediationRequest[]>;
  /** Finish a claimed request; only the current claim holder may; returns false otherwise. */
  finishRequest(id: number, holder: string, result:
    | { state: 'done' | 'escalated' | 'suspended'; error?: string }
    /** `handedBack`: the claim is returned undecided, so it does not count as an attempt. */
    | { state: 'pending'; nextAttemptAt: number; error: string; handedBack?: boolean }
    | { state: 'awaiting-approval'; plan: string; expiresAt: number }): Promise<boolean>;
  appendAudit(entry: NewAuditEntry): Promise<number>;
  /**
   * For each decision, finishRequest(done) + appendAudit, all in one commit, each only while `holder`
   * holds that request's claim: per decision, in order, the audit id or null (nothing written for it).
   */
  finishDecided(holder: string, decisions: readonly DecidedRequest[]): Promise<Array<number | null>>;
  /**
   * A cooldown skip of request `like` holds as well for the due requests alike it (claim-order-schema.ts,
   * alikeCandidates): at most `limit` of them are finished as done and audited with `audit` (each with
   * its own request and group id) in one commit. Returns what was written, oldest request first.
   */
  skipAlike(holder: string, q: AlikeSkip): Promise<AlikeSkipped[]>;
  listHistory(query: HistoryQuery): Promise<{ entries: AuditEntry[]; total: number }>;
  /**
   * What the guards read from the audit trail for one request, in one read (one round trip on PostgreSQL,
   * one hop to SQLite's thread): the cooldown key's last action, the hourly budget's count and the key's attempts.
   */
  guardHistory(q: GuardHistoryQuery): Promise<GuardHistory>;
  /** Settings persisted in the store; null when never set (callers fall back to config). */
  getSettings(): Promise<Settings | null>;
  putSettings(settings: Settings): Promise<void>;

  // the closed loop (DESIGN §6a); shared SQL in store/loop.ts
  /** Claims held by anyone but `holder` become its claims at once (a new leader's takeover). */
  takeOverClaims(holder: string, now: number, claimMs: number): Promise<RemediationRequest[]>;
  /** Writes an intent in its own commit, before the mutating call it describes. */
  writeIntent(intent: NewIntent): Promise<number>;
  /** Closes an open intent; false when it was no longer open. */
  closeIntent(id: number, close: { state: Exclude<IntentState, 'open'>; reason: string; by: string; at: number }): Promise<boolean>;
  /** Open intents of a request, oldest first. */
  openIntents(requestId: number): Promise<Intent[]>;
  getRequest(id: number): Promise<RemediationRequest | null>;
  listRequests(query: RequestQuery): Promise<{ requests: RemediationRequest[]; total: number }>;
  queueRequest(request: NewRequest): Promise<number>;
  /** Approve (→ pending, due now) or reject an `awaiting-approval` request; null when it is not awaiting. */
  decideApproval(id: number, d: { approve: boolean; by: string; comment: string; now: number }): Promise<RemediationRequest | null>;
  /** `awaiting-approval` requests past their expiry become `expired`; returns them. */
  expireApprovals(now: number): Promise<RemediationRequest[]>;
  scheduleVerification(v: NewVerification): Promise<number>;
  openVerifications(): Promise<Verification[]>;
  closeVerification(id: number, outcome: VerifyOutcome, at: number): Promise<boolean>;
  /** Groups of `rule` whose latest occurrence is about `pod` in `namespace`, but `except`; newest first (at most 100), with their counts. */
  groupsAbout(of: { rule: string; namespace: string; pod: string; except: number }): Promise<GroupCount[]>;
  /** The counts of the groups that still exist among `ids` (at most 101 are looked up: a group and 100 others). */
  groupCounts(ids: readonly number[]): Promise<GroupCount[]>;
  /** Checked outcomes for (rule, namespace, target), newest first, after `since`. */
  recentOutcomes(of: { rule: string; namespace: string; target: string }, since: number, limit: number): Promise<VerifyOutcome[]>;
  /** Creates the active suspension for (rule, namespace, target), or returns the existing one. */
  suspend(s: { rule: string; namespace: string; target: string; reason: string; at: number }): Promise<Suspension>;
  activeSuspension(rule: string, namespace: string, target: string): Promise<Suspension | null>;
  /** The most recent lift time for (rule, namespace, target), or null. */
  lastLiftedAt(rule: string, namespace: string, target: string): Promise<number | null>;
  listSuspensions(opts: { active?: boolean }): Promise<Suspension[]>;
  liftSuspension(id: number, by: string, at: number): Promise<Suspension | null>;

  /**
   * Optional: adapters shared by several processes report other processes' commits here (this
   * process's own commits are not echoed). After a lost connection it reports one change with
   * `remediationQueued: true` and no ids, since notifications sent meanwhile are gone. Returns an
   * unsubscribe function. Absent on SQLite, which has a single process by construction.
   */
  subscribe?(fn: (change: StoreChange) => void): () => void;
}
