// Remediation queue, audit trail and settings for the SQLite store (DESIGN §6): cooldowns, budgets and
// attempt limits are queries over the audit table, so they survive restarts and leader changes.
import type {
  AlikeSkip, AlikeSkipped, AuditEntry, DecidedRequest, GuardHistory, GuardHistoryQuery, HistoryQuery, NewAuditEntry, RemediationRequest, Settings, Store,
} from '../types.ts';
import { alike, alikeCandidates, byClaimOrder, claimCandidates, claimLimit } from '../claim-order-schema.ts';
import { eventForAudit } from '../outbox.ts';
import { insertEvents } from './outbox.ts';
import type { Statements } from './statements.ts';
import { all, one } from './statements.ts';
import { auditColumns, type AuditRow, type RequestRow, toAuditEntry, toRequest } from '../rows.ts';

// One statement, so the pick and the claim are atomic. Oldest first, through the claim-order index.
// RETURNING gives no order: the caller sorts.
const CLAIM = `UPDATE remediation_requests
  SET state = 'claimed', claimed_by = ?1, claimed_until = ?2 + ?3, attempts = attempts + 1
  WHERE id IN (${claimCandidates('?2', '?4', 'sqlite')})
  RETURNING *`;

export function claimRequests(stmts: Statements, holder: string, now: number, claimMs: number, limit: number): RemediationRequest[] {
  return all<RequestRow>(stmts.get(CLAIM), holder, now, claimMs, claimLimit(limit)).map(toRequest).sort(byClaimOrder);
}

type FinishResult = Parameters<Store['finishRequest']>[2];

export function finishRequest(stmts: Statements, id: number, holder: string, result: FinishResult): boolean {
  // Guarded by the holder: a leader whose claim expired and was taken over must not overwrite it.
  const changes = result.state === 'pending'
    ? stmts.get(`UPDATE remediation_requests SET state = 'pending', next_attempt_at = ?, last_error = ?,
        claimed_by = NULL, claimed_until = NULL, attempts = max(attempts - ?, 0) WHERE id = ? AND state = 'claimed' AND claimed_by = ?`)
      .run(result.nextAttemptAt, result.error, result.handedBack ? 1 : 0, id, holder).changes
    : result.state === 'awaiting-approval'
      ? stmts.get(`UPDATE remediation_requests SET state = 'awaiting-approval', plan = ?, approval_expires_at = ?,
          claimed_by = NULL, claimed_until = NULL WHERE id = ? AND state = 'claimed' AND claimed_by = ?`)
        .run(result.plan, result.expiresAt, id, holder).changes
      : stmts.get(`UPDATE remediation_requests SET state = ?, last_error = coalesce(?, last_error),
        claimed_until = NULL WHERE id = ? AND state = 'claimed' AND claimed_by = ?`)
      .run(result.state, result.error ?? null, id, holder).changes;
  return Number(changes) === 1;
}


export function appendAudit(stmts: Statements, e: NewAuditEntry): number {
  return stmts.transaction(() => insertAudit(stmts, e));
}

/** The audit row, its group's last outcome and its outbox event; inside the caller's transaction. */
function insertAudit(stmts: Statements, e: NewAuditEntry): number {
  const { id } = one<{ id: number }>(stmts.get(`INSERT INTO audit (request_id, group_id, at, rule, action,
      namespace, target, outcome, reason, message, actor, cooldown_key)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
  e.requestId, e.groupId, e.at, e.rule, e.action, e.namespace, e.target, e.outcome, e.reason, e.message,
  e.actor, e.cooldownKey)!;
  // Denormalised onto the group so listings show the last outcome without a join.
  if (e.groupId !== null) {
    stmts.get('UPDATE error_groups SET remediation_outcome = ? WHERE id = ?').run(e.outcome, e.groupId);
  }
  // Outcomes and escalations notify: the outbox event commits with the audit row.
  const event = eventForAudit(e);
  if (event) insertEvents(stmts, [{ groupId: e.groupId!, kind: event.kind, at: e.at, detail: event.detail }]);
  return id;
}

/** Store.finishDecided: each request is finished and audited together, or neither; all in one commit. */
export function finishDecided(stmts: Statements, holder: string, decisions: readonly DecidedRequest[]): Array<number | null> {
  return stmts.transaction(() => decisions.map((d) => (finishRequest(stmts, d.id, holder, { state: 'done' }) ? insertAudit(stmts, d.audit) : null)));
}

// The row is checked again as PostgreSQL's statement does (single writer here: it always still matches).
const SKIP_ALIKE = `UPDATE remediation_requests AS r SET state = 'done', claimed_by = ?1, claimed_until = NULL, attempts = r.attempts + 1
  FROM remediation_requests l
  WHERE l.id = ?3 AND r.id IN (${alikeCandidates({ holder: '?1', now: '?2', like: '?3', limit: '?4' }, 'sqlite')}) AND ${alike('r', 'l')}
  RETURNING id, group_id`;

/** Store.skipAlike: the alike requests finished and audited in one transaction. */
export function skipAlike(stmts: Statements, holder: string, { like, now, audit, limit }: AlikeSkip): AlikeSkipped[] {
  return stmts.transaction(() => all<{ id: number; group_id: number }>(stmts.get(SKIP_ALIKE), holder, now, like, claimLimit(limit, 1024))
    .sort((a, b) => a.id - b.id)
    .map((r) => ({ requestId: r.id, groupId: r.group_id, auditId: insertAudit(stmts, { ...audit, requestId: r.id, groupId: r.group_id }) })));
}

export function listHistory(stmts: Statements, q: HistoryQuery): { entries: AuditEntry[]; total: number } {
  const terms: string[] = [];
  const params: Array<string | number> = [];
  const filters: Array<[string, string | number | undefined]> = [
    ['outcome', q.outcome], ['reason', q.reason], ['namespace', q.namespace], ['rule', q.rule], ['group_id', q.groupId],
  ];
  for (const [column, value] of filters) {
    if (value !== undefined) { terms.push(`${column} = ?`); params.push(value); }
  }
  const w = terms.length ? `WHERE ${terms.join(' AND ')}` : '';
  const pageSize = Number.isInteger(q.pageSize) && q.pageSize >= 1 ? q.pageSize : 50;
  const offset = ((Number.isInteger(q.page) && q.page >= 1 ? q.page : 1) - 1) * pageSize;
  const total = one<{ n: number }>(stmts.get(`SELECT count(*) AS n FROM audit ${w}`), ...params)!.n;
  const rows = total === 0 ? [] : all<AuditRow>(
    stmts.get(`SELECT ${auditColumns} FROM audit ${w} ORDER BY at DESC, id DESC LIMIT ${pageSize} OFFSET ${offset}`),
    ...params,
  );
  return { entries: rows.map(toAuditEntry), total };
}

/** The guards' three reads, in one call on the store thread. */
export function guardHistory(stmts: Statements, q: GuardHistoryQuery): GuardHistory {
  const last = q.includeDryRun
    ? "SELECT max(at) AS at FROM audit WHERE cooldown_key = ? AND outcome IN ('acted', 'dry-run')"
    : "SELECT max(at) AS at FROM audit WHERE cooldown_key = ? AND outcome = 'acted'";
  return {
    lastActionAt: one<{ at: number | null }>(stmts.get(last), q.cooldownKey)!.at,
    actedLastHour: one<{ n: number }>(stmts.get("SELECT count(*) AS n FROM audit WHERE outcome = 'acted' AND at >= ?"), q.actedSince)!.n,
    attempts: one<{ n: number }>(stmts.get(
      "SELECT count(*) AS n FROM audit WHERE cooldown_key = ? AND outcome IN ('acted', 'failed') AND at >= ?"),
    q.cooldownKey, q.attemptsSince)!.n,
  };
}

export function getSettings(stmts: Statements): Settings | null {
  type Row = { enabled: number; dry_run: number; max_actions_per_hour: number; require_approval: number };
  const r = one<Row>(stmts.get('SELECT enabled, dry_run, max_actions_per_hour, require_approval FROM settings WHERE id = 1'));
  return r ? {
    enabled: r.enabled === 1, dryRun: r.dry_run === 1, maxActionsPerHour: r.max_actions_per_hour, requireApproval: r.require_approval === 1,
  } : null;
}

export function putSettings(stmts: Statements, s: Settings, now: number): void {
  stmts.get(`INSERT INTO settings (id, enabled, dry_run, max_actions_per_hour, require_approval, updated_at)
    VALUES (1, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET enabled = excluded.enabled, dry_run = excluded.dry_run,
      max_actions_per_hour = excluded.max_actions_per_hour, require_approval = excluded.require_approval,
      updated_at = excluded.updated_at`)
    .run(s.enabled ? 1 : 0, s.dryRun ? 1 : 0, s.maxActionsPerHour, s.requireApproval ? 1 : 0, now);
}
