// The closed remediation loop's storage (DESIGN §6a): claim takeover, the intent log, approvals,
// outcome verification and suspensions. Every operation is ONE statement (atomic on its own, so no
// transaction spans an await), written once in a dialect both SQLite and PostgreSQL accept: `$n`
// placeholders (rewritten to `?n` for SQLite), integer flags, epoch-ms bigint times, JSON as text.
import type { ActionName, WorkloadRef } from '../domain/types.ts';
import { iso, isoOrNull, type RequestRow, toRequest } from './rows.ts';
import { forwarded, READ_METHODS } from './threads.ts';
import type {
  Expectation, GroupCount, Intent, IntentState, NewIntent, NewRequest, NewVerification, RemediationRequest, RequestQuery, Suspension,
  Verification, VerifyOutcome,
  Store,
} from './types.ts';

/** What an adapter provides: run one statement, get its rows (RETURNING rows for writes). */
interface LoopDb {
  all<T>(sql: string, params: unknown[]): Promise<T[]>;
}

/** `$1` → `?1`: SQLite's numbered parameters bind positionally like PostgreSQL's. */
export const toSqlite = (sql: string): string => sql.replace(/\$(\d+)/g, '?$1');

interface IntentRow {
  id: number; request_id: number; holder: string; action: ActionName; namespace: string; target_kind: string;
  target_name: string; target_uid: string; expect: string; summary: string; created_at: number; state: IntentState;
  reason: string; settled_by: string | null; settled_at: number | null;
}

const toIntent = (r: IntentRow): Intent => ({
  id: Number(r.id), requestId: Number(r.request_id), holder: r.holder, action: r.action, namespace: r.namespace,
  targetKind: r.target_kind, targetName: r.target_name, targetUid: r.target_uid,
  expect: JSON.parse(r.expect) as Expectation, summary: r.summary, createdAt: Number(r.created_at), state: r.state,
  reason: r.reason, settledBy: r.settled_by, settledAt: r.settled_at === null ? null : Number(r.settled_at),
});

interface VerificationRow {
  id: number; request_id: number; group_id: number; rule: string; action: ActionName; namespace: string; target: string;
  cooldown_key: string; expect: string; group_count: number; other_groups: string | null; acted_at: number; deadline: number;
  state: 'open' | VerifyOutcome;
}

const toVerification = (r: VerificationRow): Verification => ({
  id: Number(r.id), requestId: Number(r.request_id), groupId: Number(r.group_id), rule: r.rule, action: r.action,
  namespace: r.namespace, target: r.target, cooldownKey: r.cooldown_key, expect: JSON.parse(r.expect) as Expectation,
  groupCount: Number(r.group_count), actedAt: Number(r.acted_at), deadline: Number(r.deadline), state: r.state,
  // [[group id, count], …]; null on a verification scheduled before the column existed.
  others: (JSON.parse(r.other_groups ?? '[]') as Array<[number, number]>).map(([groupId, count]) => ({ groupId, count })),
});

interface SuspensionRow {
  id: number; rule: string; namespace: string; target: string; created_at: number; reason: string;
  lifted_at: number | null; lifted_by: string | null;
}

const toSuspension = (r: SuspensionRow): Suspension => ({
  id: Number(r.id), rule: r.rule, namespace: r.namespace, target: r.target, createdAt: iso(Number(r.created_at)),
  reason: r.reason, liftedAt: isoOrNull(r.lifted_at === null ? null : Number(r.lifted_at)), liftedBy: r.lifted_by,
});

const pageOf = (q: { page: number; pageSize: number }) => {
  const size = Number.isInteger(q.pageSize) && q.pageSize >= 1 ? Math.min(q.pageSize, 500) : 50;
  return { size, offset: ((Number.isInteger(q.page) && q.page >= 1 ? q.page : 1) - 1) * size };
};

// A takeover moves the claim, not the attempt count: the request was already counted when claimed.
async function takeOverClaims(db: LoopDb, holder: string, now: number, claimMs: number): Promise<RemediationRequest[]> {
  const rows = await db.all<RequestRow>(`UPDATE remediation_requests SET claimed_by = $1, claimed_until = $2
    WHERE state = 'claimed' AND claimed_by <> $1 RETURNING *`, [holder, now + claimMs]);
  return rows.map(toRequest).sort((a, b) => a.id - b.id);
}

async function writeIntent(db: LoopDb, i: NewIntent): Promise<number> {
  const [row] = await db.all<{ id: number }>(`INSERT INTO remediation_intents (request_id, holder, action, namespace,
      target_kind, target_name, target_uid, expect, summary, created_at, state, reason)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', '') RETURNING id`,
  [i.requestId, i.holder, i.action, i.namespace, i.targetKind, i.targetName, i.targetUid, JSON.stringify(i.expect), i.summary, i.at]);
  return Number(row.id);
}

async function closeIntent(db: LoopDb, id: number, c: { state: Exclude<IntentState, 'open'>; reason: string; by: string; at: number }): Promise<boolean> {
  const rows = await db.all(`UPDATE remediation_intents SET state = $1, reason = $2, settled_by = $3, settled_at = $4
    WHERE id = $5 AND state = 'open' RETURNING id`, [c.state, c.reason, c.by, c.at, id]);
  return rows.length === 1;
}

async function openIntents(db: LoopDb, requestId: number): Promise<Intent[]> {
  const rows = await db.all<IntentRow>(`SELECT * FROM remediation_intents WHERE request_id = $1 AND state = 'open'
    ORDER BY id`, [requestId]);
  return rows.map(toIntent);
}

async function getRequest(db: LoopDb, id: number): Promise<RemediationRequest | null> {
  const [row] = await db.all<RequestRow>('SELECT * FROM remediation_requests WHERE id = $1', [id]);
  return row ? toRequest(row) : null;
}

async function listRequests(db: LoopDb, q: RequestQuery): Promise<{ requests: RemediationRequest[]; total: number }> {
  const terms: string[] = [];
  const params: unknown[] = [];
  if (q.state) terms.push(`state = $${params.push(q.state)}`);
  if (q.groupId !== undefined) terms.push(`group_id = $${params.push(q.groupId)}`);
  const where = terms.length ? `WHERE ${terms.join(' AND ')}` : '';
  const { size, offset } = pageOf(q);
  const [count] = await db.all<{ n: number }>(`SELECT count(*) AS n FROM remediation_requests ${where}`, params);
  const total = Number(count.n);
  const rows = total === 0 ? [] : await db.all<RequestRow>(
    `SELECT * FROM remediation_requests ${where} ORDER BY id DESC LIMIT ${size} OFFSET ${offset}`, params);
  return { requests: rows.map(toRequest), total };
}

async function queueRequest(db: LoopDb, r: NewRequest): Promise<number> {
  const owner: WorkloadRef | null = r.owner;
  const [row] = await db.all<{ id: number }>(`INSERT INTO remediation_requests (group_id, fingerprint, rule, action,
      params, cooldown_ms, namespace, pod, container, owner, created_at, state, attempts, next_attempt_at, force, requested_by)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', 0, $11, $12, $13) RETURNING id`,
  [r.groupId, r.fingerprint, r.rule, r.action, JSON.stringify(r.params), r.cooldownMs, r.namespace, r.pod, r.container,
    owner === null ? null : JSON.stringify(owner), r.at, r.force ? 1 : 0, r.requestedBy]);
  return Number(row.id);
}

async function decideApproval(db: LoopDb, id: number, d: { approve: boolean; by: string; comment: string; now: number }): Promise<RemediationRequest | null> {
  // An approved request is due at once; it still runs every guard and verify-before-act when claimed.
  const sql = d.approve
    ? `UPDATE remediation_requests SET state = 'pending', approved = 1, decided_by = $2, decision_comment = $3,
        next_attempt_at = $4, claimed_by = NULL, claimed_until = NULL WHERE id = $1 AND state = 'awaiting-approval' RETURNING *`
    : `UPDATE remediation_requests SET state = 'rejected', decided_by = $2, decision_comment = $3, approved = 0
        WHERE id = $1 AND state = 'awaiting-approval' RETURNING *`;
  const params = d.approve ? [id, d.by, d.comment, d.now] : [id, d.by, d.comment];
  const [row] = await db.all<RequestRow>(sql, params);
  return row ? toRequest(row) : null;
}

async function expireApprovals(db: LoopDb, now: number): Promise<RemediationRequest[]> {
  const rows = await db.all<RequestRow>(`UPDATE remediation_requests SET state = 'expired'
    WHERE state = 'awaiting-approval' AND approval_expires_at < $1 RETURNING *`, [now]);
  return rows.map(toRequest);
}

async function scheduleVerification(db: LoopDb, v: NewVerification): Promise<number> {
  const [row] = await db.all<{ id: number }>(`INSERT INTO remediation_verifications (request_id, group_id, rule, action,
      namespace, target, cooldown_key, expect, group_count, other_groups, acted_at, deadline, state)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open') RETURNING id`,
  [v.requestId, v.groupId, v.rule, v.action, v.namespace, v.target, v.cooldownKey, JSON.stringify(v.expect), v.groupCount,
    JSON.stringify(v.others.map((o) => [o.groupId, o.count])), v.actedAt, v.deadline]);
  return Number(row.id);
}

const toGroupCount = (r: { id: number; count: number }): GroupCount => ({ groupId: Number(r.id), count: Number(r.count) });

/** At most this many groups: the work per verification stays bounded. */
const GROUPS_ABOUT_MAX = 100;

async function groupsAbout(db: LoopDb, of: { rule: string; namespace: string; pod: string; except: number }): Promise<GroupCount[]> {
  // Newest first: a request's sharers are recent, older groups about a stable pod name (StatefulSet
  // web-0) may be from past incidents. `+last_seen`: SQLite scans the table and sorts the few matches
  // (87 ms at 100k groups) instead of walking the last_seen index with a lookup per group (111 ms).
  const rows = await db.all<{ id: number; count: number }>(`SELECT id, count FROM error_groups
    WHERE rule = $1 AND namespace = $2 AND pod = $3 AND id <> $4 ORDER BY +last_seen DESC, id DESC LIMIT ${GROUPS_ABOUT_MAX}`,
  [of.rule, of.namespace, of.pod, of.except]);
  return rows.map(toGroupCount);
}

/** Ids per groupCounts(): a check's own group and the others it watches. */
const COUNTS_MAX = GROUPS_ABOUT_MAX + 1;

/** One statement text whatever the number of ids (SQLite caches statements by text): the list is padded with 0, no group's id. */
const GROUP_COUNTS_SQL = `SELECT id, count FROM error_groups WHERE id IN (${Array.from({ length: COUNTS_MAX }, (_, i) => `$${i + 1}`).join(', ')})`;

async function groupCounts(db: LoopDb, ids: readonly number[]): Promise<GroupCount[]> {
  const wanted = ids.filter(Number.isSafeInteger).slice(0, COUNTS_MAX);
  if (wanted.length === 0) return [];
  const rows = await db.all<{ id: number; count: number }>(GROUP_COUNTS_SQL, [...wanted, ...Array<number>(COUNTS_MAX - wanted.length).fill(0)]);
  return rows.map(toGroupCount);
}

async function openVerifications(db: LoopDb): Promise<Verification[]> {
  const rows = await db.all<VerificationRow>("SELECT * FROM remediation_verifications WHERE state = 'open' ORDER BY deadline, id", []);
  return rows.map(toVerification);
}

async function closeVerification(db: LoopDb, id: number, outcome: VerifyOutcome, at: number): Promise<boolean> {
  const rows = await db.all(`UPDATE remediation_verifications SET state = $1, decided_at = $2
    WHERE id = $3 AND state = 'open' RETURNING id`, [outcome, at, id]);
  return rows.length === 1;
}

async function recentOutcomes(db: LoopDb, { rule, namespace, target }: { rule: string; namespace: string; target: string }, since: number, limit: number): Promise<VerifyOutcome[]> {
  const rows = await db.all<{ outcome: VerifyOutcome }>(`SELECT outcome FROM audit
    WHERE rule = $1 AND namespace = $2 AND target = $3 AND outcome IN ('effective', 'ineffective') AND at > $4
    ORDER BY at DESC, id DESC LIMIT ${Math.max(1, Math.floor(limit))}`, [rule, namespace, target, since]);
  return rows.map((r) => r.outcome);
}

const ACTIVE = 'SELECT * FROM remediation_suspensions WHERE rule = $1 AND namespace = $2 AND target = $3 AND lifted_at IS NULL';

async function suspend(db: LoopDb, s: { rule: string; namespace: string; target: string; reason: string; at: number }): Promise<Suspension> {
  // The partial unique index keeps one active suspension per (rule, workload); a second one is a no-op.
  await db.all(`INSERT INTO remediation_suspensions (rule, namespace, target, created_at, reason) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (rule, namespace, target) WHERE lifted_at IS NULL DO NOTHING`, [s.rule, s.namespace, s.target, s.at, s.reason]);
  const [row] = await db.all<SuspensionRow>(ACTIVE, [s.rule, s.namespace, s.target]);
  return toSuspension(row);
}

async function activeSuspension(db: LoopDb, rule: string, namespace: string, target: string): Promise<Suspension | null> {
  const [row] = await db.all<SuspensionRow>(ACTIVE, [rule, namespace, target]);
  return row ? toSuspension(row) : null;
}

async function lastLiftedAt(db: LoopDb, rule: string, namespace: string, target: string): Promise<number | null> {
  const [row] = await db.all<{ at: number | null }>(`SELECT max(lifted_at) AS at FROM remediation_suspensions
    WHERE rule = $1 AND namespace = $2 AND target = $3`, [rule, namespace, target]);
  return row?.at === null || row?.at === undefined ? null : Number(row.at);
}

async function listSuspensions(db: LoopDb, opts: { active?: boolean }): Promise<Suspension[]> {
  const where = opts.active === true ? 'WHERE lifted_at IS NULL' : opts.active === false ? 'WHERE lifted_at IS NOT NULL' : '';
  const rows = await db.all<SuspensionRow>(`SELECT * FROM remediation_suspensions ${where} ORDER BY id DESC LIMIT 500`, []);
  return rows.map(toSuspension);
}

async function liftSuspension(db: LoopDb, id: number, by: string, at: number): Promise<Suspension | null> {
  const [row] = await db.all<SuspensionRow>(`UPDATE remediation_suspensions SET lifted_at = $1, lifted_by = $2
    WHERE id = $3 AND lifted_at IS NULL RETURNING *`, [at, by, id]);
  return row ? toSuspension(row) : null;
}

/** The Store methods this module implements; adapters merge them in with loopStore(). */
export const LOOP_METHODS = [
  'takeOverClaims', 'writeIntent', 'closeIntent', 'openIntents', 'getRequest', 'listRequests', 'queueRequest',
  'decideApproval', 'expireApprovals', 'scheduleVerification', 'openVerifications', 'closeVerification', 'groupsAbout', 'groupCounts',
  'recentOutcomes', 'suspend', 'activeSuspension', 'lastLiftedAt', 'listSuspensions', 'liftSuspension',
] as const;
export type LoopStore = Pick<Store, (typeof LOOP_METHODS)[number]>;
type LoopRead = (typeof LOOP_METHODS)[number] & (typeof READ_METHODS)[number];

/** Runs one statement's function: `write` ones are refused by read-only (dashboard) stores. */
export type LoopRunner = <T>(write: boolean, fn: (db: LoopDb) => Promise<T>) => Promise<T>;

/**
 * The loop methods over an adapter's runner. `onQueued` runs after a request became due by a human's
 * hand (approved, queued manually), so a shared store can wake the leader in another process.
 */
export function loopStore(run: LoopRunner, onQueued: () => Promise<void> = async () => {}): LoopStore {
  const r = <T>(fn: (db: LoopDb) => Promise<T>) => run(false, fn);
  const w = <T>(fn: (db: LoopDb) => Promise<T>) => run(true, fn);
  return {
    takeOverClaims: (holder, now, claimMs) => w((db) => takeOverClaims(db, holder, now, claimMs)),
    writeIntent: (i) => w((db) => writeIntent(db, i)),
    closeIntent: (id, c) => w((db) => closeIntent(db, id, c)),
    openIntents: (requestId) => r((db) => openIntents(db, requestId)),
    getRequest: (id) => r((db) => getRequest(db, id)),
    listRequests: (q) => r((db) => listRequests(db, q)),
    queueRequest: async (req) => {
      const id = await w((db) => queueRequest(db, req));
      await onQueued();
      return id;
    },
    decideApproval: async (id, d) => {
      const req = await w((db) => decideApproval(db, id, d));
      if (req && d.approve) await onQueued();
      return req;
    },
    expireApprovals: (now) => w((db) => expireApprovals(db, now)),
    scheduleVerification: (v) => w((db) => scheduleVerification(db, v)),
    openVerifications: () => r((db) => openVerifications(db)),
    closeVerification: (id, outcome, at) => w((db) => closeVerification(db, id, outcome, at)),
    groupsAbout: (of) => r((db) => groupsAbout(db, of)),
    groupCounts: (ids) => r((db) => groupCounts(db, ids)),
    recentOutcomes: (of, since, limit) => r((db) => recentOutcomes(db, of, since, limit)),
    suspend: (s) => w((db) => suspend(db, s)),
    activeSuspension: (rule, ns, target) => r((db) => activeSuspension(db, rule, ns, target)),
    lastLiftedAt: (rule, ns, target) => r((db) => lastLiftedAt(db, rule, ns, target)),
    listSuspensions: (opts) => r((db) => listSuspensions(db, opts)),
    liftSuspension: (id, by, at) => w((db) => liftSuspension(db, id, by, at)),
  };
}

/**
 * Forwarders for a store that runs its adapter elsewhere (the SQLite and PostgreSQL store threads).
 * The loop's reads are not among them: each store forwards those with its other reads (READ_METHODS).
 */
export function forwardedLoopStore(call: (method: (typeof LOOP_METHODS)[number], args: unknown[]) => Promise<unknown>): Omit<LoopStore, LoopRead> {
  const reads: readonly string[] = READ_METHODS;
  return forwarded(LOOP_METHODS.filter((m): m is Exclude<typeof m, LoopRead> => !reads.includes(m)), call) as unknown as Omit<LoopStore, LoopRead>;
}

/**
 * Retention for the loop's own rows (each adapter's prune() runs these in its transaction): finished
 * requests, closed intents, decided verifications and lifted suspensions older than `before`. Open
 * intents and verifications and active suspensions are kept whatever their age.
 */
export const LOOP_PRUNE = [
  "DELETE FROM remediation_requests WHERE state IN ('expired', 'rejected', 'suspended') AND created_at < $1",
  "DELETE FROM remediation_intents WHERE state <> 'open' AND created_at < $1",
  "DELETE FROM remediation_verifications WHERE state <> 'open' AND acted_at < $1",
  'DELETE FROM remediation_suspensions WHERE lifted_at IS NOT NULL AND lifted_at < $1',
] as const;
