// The read side of the PostgreSQL store (listings, details, statistics) and the housekeeping writes
// over whole tables (expire, prune). Same shapes and orderings as the SQLite adapter.
import type { Pool } from 'pg';
import type { ErrorGroup, ErrorGroupDetail, GroupQuery, Stats } from '../types.ts';
import { notify } from './notify-payload.ts';
import { one, rows, type Tx } from './session.ts';
import { searchTerm } from './search.ts';
import { LOOP_PRUNE } from '../loop.ts';
import { COMPACT_TOTALS } from './totals-schema.ts';
import { orderBy } from '../listing-sql.ts';
import {
  GROUP_COLUMNS, HOUR_MS, searchPage, searchPageSql, auditColumns, buildStats, type AuditRow, type GroupCountRow, type GroupRow, toGroup, toGroupDetail, type OccurrenceRow,
} from '../rows.ts';

function where(q: GroupQuery): { sql: string; params: unknown[] } {
  const terms: string[] = [];
  const params: unknown[] = [];
  const param = (v: unknown): string => `$${params.push(v)}`;
  if (q.priority?.length) terms.push(`priority = ANY(${param(q.priority)}::text[])`);
  if (q.namespace !== undefined) terms.push(`namespace = ${param(q.namespace)}`);
  if (q.pod !== undefined) terms.push(`pod = ${param(q.pod)}`);
  // '' is how ruleHits names unmatched signals, so it filters them too.
  if (q.rule !== undefined) terms.push(q.rule === '' ? 'rule IS NULL' : `rule = ${param(q.rule)}`);
  if (q.source !== undefined) terms.push(`source = ${param(q.source)}`);
  if (q.status !== undefined) terms.push(`status = ${param(q.status)}`);
  if (q.since !== undefined) terms.push(`last_seen >= ${param(q.since)}`);
  // strpos() decides (user text needs no wildcard escaping); the pg_trgm index narrows first.
  if (q.q) terms.push(searchTerm(q.q, param));
  return { sql: terms.length ? `WHERE ${terms.join(' AND ')}` : '', params };
}

/**
 * The total of a listing: filters on priority, status and source alone are summed from the kept totals
 * (a few dozen rows, src/store/postgres/totals-schema.ts); any other filter counts the matching groups.
 */
function countOf(q: GroupQuery, w: { sql: string; params: unknown[] }): [string, unknown[]] {
  const kept = q.namespace === undefined && q.pod === undefined && q.rule === undefined && q.since === undefined && !q.q;
  return kept
    ? [`SELECT coalesce(sum(n), 0) AS n FROM error_group_totals ${w.sql}`, w.params]
    : [`SELECT count(*) AS n FROM error_groups ${w.sql}`, w.params];
}

function positive(n: number, fallback: number): number {
  return Number.isInteger(n) && n >= 1 ? n : fallback;
}

export async function listGroups(pool: Pool, q: GroupQuery): Promise<{ groups: ErrorGroup[]; total: number }> {
  const w = where(q);
  const pageSize = positive(q.pageSize, 50);
  const offset = (positive(q.page, 1) - 1) * pageSize;
  const order = orderBy(q.sort, q.order);
  if (q.q) return searchListing(pool, w, order, pageSize, offset);
  // Two connections at once: the count and the page do not wait for each other.
  const [count, page] = await Promise.all([
    one<{ n: number }>(pool, ...countOf(q, w)),
    rows<GroupRow>(pool, `SELECT ${GROUP_COLUMNS} FROM error_groups ${w.sql} ORDER BY ${order}
      LIMIT ${pageSize} OFFSET ${offset}`, w.params),
  ]);
  return { groups: page.map(toGroup), total: count!.n };
}

/** q=: one pass over the matches (searchPageSql); a page past the end counts them again. */
async function searchListing(pool: Pool, w: { sql: string; params: unknown[] }, order: string, pageSize: number, offset: number) {
  const page = searchPage(await rows<GroupRow & { total: string }>(pool, searchPageSql(w.sql, order, pageSize, offset), w.params));
  if (page) return page;
  const total = offset === 0 ? 0 : (await one<{ n: number }>(pool, `SELECT count(*) AS n FROM error_groups ${w.sql}`, w.params))!.n;
  return { groups: [], total };
}

/**
 * One statement, so one snapshot: the group row, its newest occurrences and its audit agree (three
 * pooled queries could each see a different commit, e.g. a count the occurrence list did not reach).
 */
export async function getGroup(pool: Pool, id: number, occurrences: number): Promise<ErrorGroupDetail | null> {
  if (!Number.isSafeInteger(id)) return null;
  const row = await one<GroupRow & { occ: OccurrenceRow[]; audit_rows: AuditRow[] }>(pool, `SELECT ${GROUP_COLUMNS},
    (SELECT coalesce(json_agg(o ORDER BY o.id DESC), '[]') FROM (SELECT id, at, channel, message, count, labels FROM occurrences
      WHERE group_id = $1 ORDER BY id DESC LIMIT $2) o) AS occ,
    (SELECT coalesce(json_agg(a ORDER BY a.at DESC, a.id DESC), '[]') FROM (SELECT ${auditColumns} FROM audit
      WHERE group_id = $1 ORDER BY at DESC, id DESC LIMIT 100) a) AS audit_rows
    FROM error_groups WHERE id = $1`, [id, Math.max(0, Math.floor(occurrences))]);
  if (!row) return null;
  return toGroupDetail(row, row.occ, row.audit_rows);
}

export async function stats(pool: Pool, now: number): Promise<Stats> {
  const [groups, minutes, req, acted] = await Promise.all([
    rows<GroupCountRow>(pool, `SELECT priority, status, source, sum(n) AS n FROM error_group_totals
      GROUP BY priority, status, source HAVING sum(n) <> 0`),
    // Minute buckets: the window is the last 60 whole minutes plus the current one.
    one<{ n: number }>(pool, 'SELECT coalesce(sum(count), 0) AS n FROM occurrence_minutes WHERE minute > $1',
      [Math.floor((now - HOUR_MS) / 60_000)]),
    one<{ pending: number; escalated: number }>(pool, `SELECT
        count(*) FILTER (WHERE state IN ('pending', 'claimed')) AS pending,
        count(*) FILTER (WHERE state = 'escalated') AS escalated
      FROM remediation_requests WHERE state <> 'done'`),
    one<{ n: number }>(pool, "SELECT count(*) AS n FROM audit WHERE outcome = 'acted' AND at >= $1", [now - HOUR_MS]),
  ]);
  return buildStats(groups, {
    occurrencesLastHour: minutes!.n, pending: req!.pending, escalated: req!.escalated, actedLastHour: acted!.n,
  });
}

export async function ruleHits(pool: Pool): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const r of await rows<{ rule: string; n: number }>(pool,
    "SELECT coalesce(rule, '') AS rule, sum(count) AS n FROM error_groups GROUP BY 1")) {
    out[r.rule] = r.n;
  }
  return out;
}

/**
 * Firing groups nobody re-sent before their deadline resolve at that deadline. SKIP LOCKED: a group a
 * batch is writing right now is being refreshed, and replicas running this at once split the work.
 */
export async function expire(tx: Tx, now: number, origin: string): Promise<number> {
  const ids = (await rows<{ id: number }>(tx, `UPDATE error_groups SET status = 'resolved', resolved_at = expires_at
    WHERE id IN (SELECT id FROM error_groups WHERE status = 'firing' AND expires_at < $1 FOR UPDATE SKIP LOCKED)
    RETURNING id`, [now])).map((r) => r.id);
  // The resolution notifies (src/store/outbox.ts): its event commits with it.
  if (ids.length > 0) {
    await tx.query(`INSERT INTO notification_events (group_id, kind, at, detail)
      SELECT id, 'resolved', expires_at, '{"reason":"expired"}' FROM error_groups WHERE id = ANY($1::bigint[])`, [ids]);
  }
  if (ids.length > 0) await notify(tx, origin, { groupIds: ids, remediationQueued: false });
  return ids.length;
}

/**
 * Retention: old groups (occurrences, keys and requests cascade), old dedup keys, minute totals, audit
 * and finished requests. Rows a batch holds are skipped, so pruning never waits on ingest.
 */
export async function prune(tx: Tx, before: number): Promise<number> {
  const del = (text: string, value: number) => tx.query(text, [value]);
  const groups = await del(`DELETE FROM error_groups WHERE id IN
    (SELECT id FROM error_groups WHERE last_seen < $1 FOR UPDATE SKIP LOCKED)`, before);
  await del(`DELETE FROM occurrence_keys WHERE (fingerprint, key) IN
    (SELECT fingerprint, key FROM occurrence_keys WHERE last_seen < $1 FOR UPDATE SKIP LOCKED)`, before);
  await del('DELETE FROM occurrence_minutes WHERE minute < $1', Math.floor(before / 60_000));
  await del('DELETE FROM audit WHERE at < $1', before);
  await del("DELETE FROM remediation_requests WHERE state = 'done' AND created_at < $1", before);
  for (const sql of LOOP_PRUNE) await del(sql, before);
  await tx.query(COMPACT_TOTALS);
  // Outbox: finished deliveries (their group links cascade), old events, marks of pruned groups.
  await del("DELETE FROM notification_deliveries WHERE state IN ('sent', 'failed') AND created_at < $1", before);
  await del('DELETE FROM notification_events WHERE at < $1', before);
  await tx.query('DELETE FROM notification_marks m WHERE NOT EXISTS (SELECT 1 FROM error_groups g WHERE g.id = m.group_id)');
  return groups.rowCount ?? 0;
}

/**
 * prune()'s statement timeout: the first run after a long pause may delete a lot; it runs hourly in
 * the background, so it gets more time than an ingest statement (the store runs its transaction so).
 */
export const HOUSEKEEPING_TIMEOUT_MS = 120_000;
