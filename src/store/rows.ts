// Row ↔ JSON mapping shared by both store adapters: the columns are the same in SQLite and
// PostgreSQL (bigint epoch-ms times, JSON text), so one mapping keeps their API output identical.
import { PRIORITIES, SOURCE_KINDS } from '../domain/types.ts';
import type { ActionName, GroupStatus, Priority, SourceKind, WorkloadRef } from '../domain/types.ts';
import type { ClassificationReason } from '../domain/types.ts';
import type { AuditEntry, AuditOutcome, ErrorGroup, ErrorGroupDetail, RemediationRequest, RequestState, Stats } from './types.ts';

const MAX_DATE_MS = 8.64e15;

/** Epoch ms → ISO 8601, clamped to what a Date can hold so hostile times never throw. */
export function iso(ms: number): string {
  const safe = Number.isFinite(ms) ? Math.min(Math.max(ms, -MAX_DATE_MS), MAX_DATE_MS) : 0;
  return new Date(safe).toISOString();
}

export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}

export interface GroupRow {
  id: number;
  fingerprint: string;
  alert_fingerprint: string | null;
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
  labels: string;
  count: number;
  first_seen: number;
  last_seen: number;
  resolved_at: number | null;
  expires_at: number | null;
  why: string;
  remediation_action: ActionName | null;
  remediation_outcome: string | null;
}

export const GROUP_COLUMNS = `id, fingerprint, alert_fingerprint, source, priority, rule, status, title, message,
  namespace, pod, container, workload, labels, count, first_seen, last_seen, resolved_at, expires_at, why,
  remediation_action, remediation_outcome`;

/**
 * The q= listing, on both stores: the text test (index candidates, then the exact substring test over
 * up to five columns of each) is the expensive part, so it runs once. The matches' sort keys are
 * materialized, counted, and the page is cut from them; each row carries `total`. A page past the end
 * has no rows, and its total needs a count of its own (a second pass, only then).
 */
export function searchPageSql(where: string, order: string, pageSize: number, offset: number): string {
  return `WITH m AS MATERIALIZED (
      SELECT id, priority, last_seen, first_seen, count FROM error_groups ${where})
    SELECT (SELECT count(*) FROM m) AS total, ${GROUP_COLUMNS} FROM error_groups
    WHERE id IN (SELECT id FROM m ORDER BY ${order} LIMIT ${pageSize} OFFSET ${offset})
    ORDER BY ${order}`;
}

/** searchPageSql's rows as a page, or null for a page past the end (its total needs a count). */
export function searchPage(rows: ReadonlyArray<GroupRow & { total: number | string }>): { groups: ErrorGroup[]; total: number } | null {
  return rows.length > 0 ? { groups: rows.map(toGroup), total: Number(rows[0].total) } : null;
}

export function toGroup(r: GroupRow): ErrorGroup {
  return {
    id: r.id,
    fingerprint: r.fingerprint,
    alertFingerprint: r.alert_fingerprint,
    source: r.source,
    priority: r.priority,
    rule: r.rule,
    status: r.status,
    title: r.title,
    message: r.message,
    namespace: r.namespace,
    pod: r.pod,
    container: r.container,
    workload: r.workload,
    labels: JSON.parse(r.labels) as Record<string, string>,
    count: r.count,
    firstSeen: iso(r.first_seen),
    lastSeen: iso(r.last_seen),
    resolvedAt: isoOrNull(r.resolved_at),
    expiresAt: isoOrNull(r.expires_at),
    remediation: r.remediation_action === null
      ? null
      : { action: r.remediation_action, lastOutcome: r.remediation_outcome },
  };
}

export interface RequestRow {
  id: number;
  group_id: number;
  fingerprint: string;
  rule: string;
  action: ActionName;
  params: string;
  cooldown_ms: number;
  namespace: string;
  pod: string;
  container: string;
  owner: string | null;
  created_at: number;
  state: RequestState;
  attempts: number;
  next_attempt_at: number;
  claimed_by: string | null;
  claimed_until: number | null;
  last_error: string | null;
  // DESIGN §6a columns (migration 2); optional so rows selected before it still map.
  plan?: string | null;
  approval_expires_at?: number | null;
  approved?: number | boolean | null;
  decided_by?: string | null;
  decision_comment?: string | null;
  force?: number | boolean | null;
  requested_by?: string | null;
}

export function toRequest(r: RequestRow): RemediationRequest {
  return {
    id: r.id,
    groupId: r.group_id,
    fingerprint: r.fingerprint,
    rule: r.rule,
    action: r.action,
    params: JSON.parse(r.params) as Record<string, string>,
    cooldownMs: r.cooldown_ms,
    namespace: r.namespace,
    pod: r.pod,
    container: r.container,
    owner: r.owner === null ? null : JSON.parse(r.owner) as WorkloadRef,
    createdAt: r.created_at,
    state: r.state,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    claimedBy: r.claimed_by,
    claimedUntil: r.claimed_until,
    lastError: r.last_error,
    plan: r.plan ?? null,
    approvalExpiresAt: r.approval_expires_at ?? null,
    approved: Boolean(r.approved),
    decidedBy: r.decided_by ?? null,
    decisionComment: r.decision_comment ?? null,
    force: Boolean(r.force),
    requestedBy: r.requested_by ?? null,
  };
}

export interface AuditRow {
  id: number;
  request_id: number | null;
  group_id: number | null;
  at: number;
  rule: string;
  action: ActionName;
  namespace: string;
  target: string;
  outcome: AuditOutcome;
  reason: string;
  message: string;
  actor: string;
}

export const auditColumns = 'id, request_id, group_id, at, rule, action, namespace, target, outcome, reason, message, actor';

export function toAuditEntry(r: AuditRow): AuditEntry {
  return {
    id: r.id,
    requestId: r.request_id,
    groupId: r.group_id,
    at: iso(r.at),
    rule: r.rule,
    action: r.action,
    namespace: r.namespace,
    target: r.target,
    outcome: r.outcome,
    reason: r.reason,
    message: r.message,
    actor: r.actor,
  };
}

export const HOUR_MS = 3_600_000;

export interface GroupCountRow {
  priority: Priority;
  status: GroupStatus;
  source: SourceKind;
  n: number;
}

function perPriority(): Record<Priority, number> {
  return Object.fromEntries(PRIORITIES.map((p) => [p, 0])) as Record<Priority, number>;
}

/** Pure: the Stats document from group counts (by priority, status, source) and the remediation figures. */
export function buildStats(groups: readonly GroupCountRow[], extra: {
  occurrencesLastHour: number; pending: number; escalated: number; actedLastHour: number;
}): Stats {
  const s: Stats = {
    total: 0,
    firing: 0,
    byPriority: perPriority(),
    firingByPriority: perPriority(),
    bySource: Object.fromEntries(SOURCE_KINDS.map((k) => [k, 0])) as Record<SourceKind, number>,
    occurrencesLastHour: extra.occurrencesLastHour,
    remediation: { pending: extra.pending, actedLastHour: extra.actedLastHour, escalated: extra.escalated },
  };
  for (const r of groups) {
    s.total += r.n;
    if (r.priority in s.byPriority) s.byPriority[r.priority] += r.n;
    if (r.source in s.bySource) s.bySource[r.source] += r.n;
    if (r.status === 'firing') {
      s.firing += r.n;
      if (r.priority in s.firingByPriority) s.firingByPriority[r.priority] += r.n;
    }
  }
  return s;
}

export interface OccurrenceRow {
  at: number;
  channel: string;
  message: string;
  count: number;
  labels: string;
}

export function toGroupDetail(row: GroupRow, occurrences: readonly OccurrenceRow[], audit: readonly AuditRow[]): ErrorGroupDetail {
  return {
    ...toGroup(row),
    // labels '' marks an occurrence whose text is the group's own (SQLite migration V6).
    occurrences: occurrences.map((o) => ({
      at: iso(o.at), channel: o.channel, message: o.labels === '' ? row.message : o.message, count: o.count,
      labels: JSON.parse(o.labels === '' ? row.labels : o.labels) as Record<string, string>,
    })),
    why: JSON.parse(row.why) as ClassificationReason,
    remediations: audit.map(toAuditEntry),
  };
}
