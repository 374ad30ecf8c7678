// Remediation queue, audit trail and settings for the PostgreSQL store (DESIGN §6). Cooldowns, budgets
// and attempt limits are queries over the audit table, so every replica and every future leader sees
// the same history.
import { escapeLiteral, type Pool, type QueryResult } from 'pg';
import type {
  AlikeSkip, AlikeSkipped, AuditEntry, GuardHistory, GuardHistoryQuery, HistoryQuery, NewAuditEntry, RemediationRequest, Settings, Store,
} from '../types.ts';
import { ms, text } from './sanitize.ts';
import { eventForAudit } from '../outbox.ts';
import { alike, alikeCandidates, byClaimOrder, claimCandidates, claimLimit } from '../claim-order-schema.ts';
import { notify } from './notify-payload.ts';
import { insertEvents } from './outbox.ts';
import { one, rows, type Tx } from './session.ts';
import { auditColumns, type AuditRow, type RequestRow, toAuditEntry, toRequest } from '../rows.ts';

// One statement, so the pick and the claim are atomic. SKIP LOCKED: concurrent claimers (an old and a
// new leader overlapping for a moment) never wait on each other and never get the same request.
//
// PostgreSQL has no index hints. In a storm the queue fills faster than autovacuum analyzes it, and
// with statistics that still say "few pending" the planner gathered every pending request through the
// (state, id) index and sorted them, per claim: 4.4 ms a claim at 10k pending, 17% of a core under
// load (issue #12). With sorting off for this one statement (SET LOCAL, in the implicit transaction of
// a multi-statement query) only the claim-order index, already in order, is left. The values are
// literals: a simple-protocol query carries no parameters.
export const CLAIM_PLANNER = 'SET LOCAL enable_sort = off';

export function claimUpdate(holder: string, now: number, claimMs: number, limit: number): string {
  return `UPDATE remediation_requests
    SET state = 'claimed', claimed_by = ${escapeLiteral(holder)}, claimed_until = ${now}::bigint + ${claimMs}::bigint, attempts = attempts + 1
    WHERE id IN (${claimCandidates(`${now}::bigint`, String(claimLimit(limit)), 'postgres')} FOR UPDATE SKIP LOCKED)
    RETURNING *`;
}

/** Up to `limit` due requests, oldest first (RETURNING gives no order). */
export async function claimRequests(pool: Pool, holder: string, now: number, claimMs: number, limit: number): Promise<RemediationRequest[]> {
  const results = await pool.query(`${CLAIM_PLANNER}; ${claimUpdate(text(holder), ms(now), ms(claimMs), limit)}`) as unknown as QueryResult<RequestRow>[];
  return results[1].rows.map(toRequest).sort(byClaimOrder);
}

// Everything that makes a request alike is checked again on the row itself: a request claimed or
// retargeted meanwhile by a concurrent transaction (its lock waited for) no longer matches when
// PostgreSQL re-reads it.
const SKIP_ALIKE = `UPDATE remediation_requests AS r SET state = 'done', claimed_by = $1, claimed_until = NULL, attempts = r.attempts + 1
  FROM remediation_requests l
  WHERE l.id = $3::bigint AND r.id IN (${alikeCandidates({ holder: '$1', now: '$2::bigint', like: '$3::bigint', limit: '$4' }, 'postgres')})
    AND ${alike('r', 'l')}
  RETURNING r.id, r.group_id`;

/** Store.skipAlike, inside the caller's transaction: the alike requests finished, then each audited. */
export async function skipAlike(tx: Tx, holder: string, { like, now, audit, limit }: AlikeSkip, origin: string): Promise<AlikeSkipped[]> {
  await tx.query(CLAIM_PLANNER);
  const done = (await rows<{ id: string; group_id: string }>(tx, SKIP_ALIKE, [text(holder), ms(now), like, claimLimit(limit, 1024)]))
    .map((r) => ({ id: Number(r.id), groupId: Number(r.group_id) })).sort((a, b) => a.id - b.id);
  const out: AlikeSkipped[] = [];
  for (const d of done) out.push({ requestId: d.id, groupId: d.groupId, auditId: await appendAudit(tx, { ...audit, requestId: d.id, groupId: d.groupId }, origin) });
  return out;
}

type FinishResult = Parameters<Store['finishRequest']>[2];

export async function finishRequest(pool: Pool | Tx, id: number, holder: string, result: FinishResult): Promise<boolean> {
  // Guarded by the holder: a leader whose claim expired and was taken over must not overwrite it.
  const res = result.state === 'pending'
    ? await pool.query(`UPDATE remediation_requests SET state = 'pending', next_attempt_at = $1, last_error = $2,
        claimed_by = NULL, claimed_until = NULL, attempts = greatest(attempts - $5, 0) WHERE id = $3 AND state = 'claimed' AND claimed_by = $4`,
      [ms(result.nextAttemptAt), text(result.error), id, text(holder), result.handedBack ? 1 : 0])
    : result.state === 'awaiting-approval'
      ? await pool.query(`UPDATE remediation_requests SET state = 'awaiting-approval', plan = $1, approval_expires_at = $2,
          claimed_by = NULL, claimed_until = NULL WHERE id = $3 AND state = 'claimed' AND claimed_by = $4`,
        [text(result.plan), ms(result.expiresAt), id, text(holder)])
      : await pool.query(`UPDATE remediation_requests SET state = $1, last_error = coalesce($2, last_error),
        claimed_until = NULL WHERE id = $3 AND state = 'claimed' AND claimed_by = $4`,
      [result.state, result.error === undefined ? null : text(result.error), id, text(holder)]);
  return res.rowCount === 1;
}


// One statement: the audit row and the outcome denormalised onto its group (so listings show the last
// outcome without a join) commit together.
const APPEND_AUDIT = `WITH a AS (
    INSERT INTO audit (request_id, group_id, at, rule, action, namespace, target, outcome, reason, message,
      actor, cooldown_key)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id, group_id, outcome
  ), g AS (
    UPDATE error_groups SET remediation_outcome = a.outcome FROM a WHERE error_groups.id = a.group_id
  )
  SELECT id FROM a`;

export async function appendAudit(tx: Tx, e: NewAuditEntry, origin: string): Promise<number> {
  const values = [e.requestId, e.groupId, ms(e.at), text(e.rule), e.action, text(e.namespace), text(e.target), e.outcome,
    text(e.reason), text(e.message), text(e.actor), text(e.cooldownKey)] as const;
  const { id } = (await one<{ id: number }>(tx, APPEND_AUDIT, [...values]))!;
  const entry = toAuditEntry({
    id, request_id: e.requestId, group_id: e.groupId, at: values[2], rule: values[3], action: e.action,
    namespace: values[5], target: values[6], outcome: e.outcome, reason: values[8], message: values[9], actor: values[10],
  });
  // Outcomes and escalations notify: the outbox event commits with the audit row.
  const event = eventForAudit(e);
  if (event) await insertEvents(tx, [{ groupId: e.groupId!, kind: event.kind, at: e.at, detail: event.detail }]);
  await notify(tx, origin, { groupIds: e.groupId === null ? [] : [e.groupId], remediationQueued: false, audit: [entry] });
  return id;
}

export async function listHistory(pool: Pool, q: HistoryQuery): Promise<{ entries: AuditEntry[]; total: number }> {
  const terms: string[] = [];
  const params: unknown[] = [];
  const filters: Array<[string, string | number | undefined]> = [
    ['outcome', q.outcome], ['reason', q.reason], ['namespace', q.namespace], ['rule', q.rule], ['group_id', q.groupId],
  ];
  for (const [column, value] of filters) {
    if (value !== undefined) terms.push(`${column} = $${params.push(value)}`);
  }
  const w = terms.length ? `WHERE ${terms.join(' AND ')}` : '';
  const pageSize = Number.isInteger(q.pageSize) && q.pageSize >= 1 ? q.pageSize : 50;
  const offset = ((Number.isInteger(q.page) && q.page >= 1 ? q.page : 1) - 1) * pageSize;
  const [count, page] = await Promise.all([
    one<{ n: number }>(pool, `SELECT count(*) AS n FROM audit ${w}`, params),
    rows<AuditRow>(pool, `SELECT ${auditColumns} FROM audit ${w} ORDER BY at DESC, id DESC LIMIT ${pageSize} OFFSET ${offset}`, params),
  ]);
  return { entries: page.map(toAuditEntry), total: count!.n };
}

// The guards' three reads in one statement: each round trip costs CPU on both ends (issue #12).
const GUARD_HISTORY = `SELECT
    (SELECT max(at) FROM audit WHERE cooldown_key = $1 AND outcome = ANY($2::text[])) AS last_action_at,
    (SELECT count(*) FROM audit WHERE outcome = 'acted' AND at >= $3) AS acted,
    (SELECT count(*) FROM audit WHERE cooldown_key = $1 AND outcome IN ('acted', 'failed') AND at >= $4) AS attempts`;

export async function guardHistory(pool: Pool, q: GuardHistoryQuery): Promise<GuardHistory> {
  const outcomes = q.includeDryRun ? ['acted', 'dry-run'] : ['acted'];
  const row = (await one<{ last_action_at: number | null; acted: number; attempts: number }>(pool, GUARD_HISTORY,
    [text(q.cooldownKey), outcomes, ms(q.actedSince), ms(q.attemptsSince)]))!;
  return { lastActionAt: row.last_action_at, actedLastHour: row.acted, attempts: row.attempts };
}

export async function getSettings(pool: Pool): Promise<Settings | null> {
  type Row = { enabled: boolean; dry_run: boolean; max_actions_per_hour: number; require_approval: boolean };
  const r = await one<Row>(pool, 'SELECT enabled, dry_run, max_actions_per_hour, require_approval FROM settings WHERE id = 1');
  return r ? { enabled: r.enabled, dryRun: r.dry_run, maxActionsPerHour: r.max_actions_per_hour, requireApproval: r.require_approval } : null;
}

export async function putSettings(tx: Tx, s: Settings, now: number, origin: string): Promise<void> {
  await tx.query(`INSERT INTO settings (id, enabled, dry_run, max_actions_per_hour, require_approval, updated_at)
    VALUES (1, $1, $2, $3, $5, $4)
    ON CONFLICT (id) DO UPDATE SET enabled = excluded.enabled, dry_run = excluded.dry_run,
      max_actions_per_hour = excluded.max_actions_per_hour, require_approval = excluded.require_approval,
      updated_at = excluded.updated_at`,
  [s.enabled, s.dryRun, s.maxActionsPerHour, now, s.requireApproval === true]);
  await notify(tx, origin, { groupIds: [], remediationQueued: false, settings: { ...s } });
}
