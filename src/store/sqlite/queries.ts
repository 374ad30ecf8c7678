// The read side of the SQLite store: the API's listings, details and statistics, plus the
// housekeeping writes (expire, prune) that work over whole tables.
import type { ErrorGroup, ErrorGroupDetail, GroupQuery, Stats } from '../types.ts';
import type { Statements } from './statements.ts';
import { all, one } from './statements.ts';
import { searchTerm } from './search.ts';
import { readSearch } from './search-file.ts';
import { orderBy } from '../listing-sql.ts';
import { PRUNE_REASONS, resolveWhy } from './reasons.ts';
import { LOOP_PRUNE, toSqlite } from '../loop.ts';
import {
  GROUP_COLUMNS, HOUR_MS, searchPage, searchPageSql, auditColumns, buildStats, type AuditRow, type GroupCountRow, type GroupRow, toGroup, toGroupDetail, type OccurrenceRow,
} from '../rows.ts';

function where(q: GroupQuery, index: { through: number } | null): { sql: string; params: Array<string | number> } {
  const terms: string[] = [];
  const params: Array<string | number> = [];
  // A JSON array parameter keeps one SQL text (one cached statement) for any number of priorities.
  if (q.priority?.length) { terms.push('priority IN (SELECT value FROM json_each(?))'); params.push(JSON.stringify(q.priority)); }
  if (q.namespace !== undefined) { terms.push('namespace = ?'); params.push(q.namespace); }
  if (q.pod !== undefined) { terms.push('pod = ?'); params.push(q.pod); }
  // '' is how ruleHits names unmatched signals, so it filters them too.
  if (q.rule !== undefined) {
    if (q.rule === '') terms.push('rule IS NULL');
    else { terms.push('rule = ?'); params.push(q.rule); }
  }
  if (q.source !== undefined) { terms.push('source = ?'); params.push(q.source); }
  if (q.status !== undefined) { terms.push('status = ?'); params.push(q.status); }
  if (q.since !== undefined) { terms.push('last_seen >= ?'); params.push(q.since); }
  if (q.q) {
    // instr() rather than LIKE: user text needs no wildcard escaping; the trigram index narrows first.
    const s = searchTerm(q.q, index);
    terms.push(s.sql);
    params.push(...s.params);
  }
  return { sql: terms.length ? `WHERE ${terms.join(' AND ')}` : '', params };
}

function positive(n: number, fallback: number): number {
  return Number.isInteger(n) && n >= 1 ? n : fallback;
}

/** `search`: whether this connection has the search file attached (search-file.ts). */
export function listGroups(stmts: Statements, q: GroupQuery, search: boolean): { groups: ErrorGroup[]; total: number } {
  const pageSize = positive(q.pageSize, 50);
  const offset = (positive(q.page, 1) - 1) * pageSize;
  const order = orderBy(q.sort, q.order);
  if (q.q) return readSearch(stmts, search, (index) => searchListing(stmts, where(q, index), order, pageSize, offset));
  const w = where(q, null);
  const total = one<{ n: number }>(stmts.get(`SELECT count(*) AS n FROM error_groups ${w.sql}`), ...w.params)!.n;
  const rows = total === 0 ? [] : all<GroupRow>(
    stmts.get(`SELECT ${GROUP_COLUMNS} FROM error_groups ${w.sql} ORDER BY ${order} LIMIT ${pageSize} OFFSET ${offset}`),
    ...w.params,
  );
  return { groups: rows.map(toGroup), total };
}

/** q=: one pass over the matches (searchPageSql); a page past the end counts them again. */
function searchListing(stmts: Statements, w: { sql: string; params: Array<string | number> }, order: string, pageSize: number, offset: number) {
  const page = searchPage(all<GroupRow & { total: number }>(stmts.get(searchPageSql(w.sql, order, pageSize, offset)), ...w.params));
  if (page) return page;
  const total = offset === 0 ? 0 : one<{ n: number }>(stmts.get(`SELECT count(*) AS n FROM error_groups ${w.sql}`), ...w.params)!.n;
  return { groups: [], total };
}

/**
 * One group with its newest occurrences and its audit, read in one transaction: an occurrence stored
 * "as the group" (V6) takes its text from the group row, so both must come from the same snapshot. On
 * the reader's connection each statement would otherwise see the commits made since the one before,
 * and an occurrence written after the group row was read could be shown with the group's older text.
 */
export function getGroup(stmts: Statements, id: number, occurrences: number): ErrorGroupDetail | null {
  return stmts.deferred(() => {
    const row = one<GroupRow>(stmts.get(`SELECT ${GROUP_COLUMNS} FROM error_groups WHERE id = ?`), id);
    if (!row) return null;
    const occ = all<OccurrenceRow>(
      stmts.get('SELECT at, channel, message, count, labels FROM occurrences WHERE group_id = ? ORDER BY id DESC LIMIT ?'),
      id, Math.max(0, Math.floor(occurrences)),
    );
    const audit = all<AuditRow>(
      stmts.get(`SELECT ${auditColumns} FROM audit WHERE group_id = ? ORDER BY at DESC, id DESC LIMIT 100`), id,
    );
    return toGroupDetail({ ...row, why: resolveWhy(stmts, row.why) }, occ, audit);
  });
}

export function stats(stmts: Statements, now: number): Stats {
  const groups = all<GroupCountRow>(stmts.get(
    'SELECT priority, status, source, count(*) AS n FROM error_groups GROUP BY priority, status, source'));
  // Minute buckets: the window is the last 60 whole minutes plus the current one.
  const occurrencesLastHour = one<{ n: number }>(
    stmts.get('SELECT coalesce(sum(count), 0) AS n FROM occurrence_minutes WHERE minute > ?'),
    Math.floor((now - HOUR_MS) / 60_000),
  )!.n;
  const req = one<{ pending: number; escalated: number }>(stmts.get(`SELECT
      coalesce(sum(state IN ('pending', 'claimed')), 0) AS pending,
      coalesce(sum(state = 'escalated'), 0) AS escalated
    FROM remediation_requests WHERE state <> 'done'`))!;
  const actedLastHour = one<{ n: number }>(
    stmts.get("SELECT count(*) AS n FROM audit WHERE outcome = 'acted' AND at >= ?"), now - HOUR_MS,
  )!.n;
  return buildStats(groups, { occurrencesLastHour, pending: req.pending, escalated: req.escalated, actedLastHour });
}

export function ruleHits(stmts: Statements): Record<string, number> {
  const out: Record<string, number> = {};
  type Row = { rule: string; n: number };
  for (const r of all<Row>(stmts.get("SELECT coalesce(rule, '') AS rule, sum(count) AS n FROM error_groups GROUP BY 1"))) {
    out[r.rule] = r.n;
  }
  return out;
}

/** Firing groups nobody re-sent before their deadline resolve at that deadline. */
export function expire(stmts: Statements, now: number): number {
  return stmts.transaction(() => {
    // The resolution notifies (src/store/outbox.ts): its event commits with it.
    stmts.get(`INSERT INTO notification_events (group_id, kind, at, detail)
      SELECT id, 'resolved', expires_at, '{"reason":"expired"}' FROM error_groups
      WHERE status = 'firing' AND expires_at < ?`).run(now);
    return Number(stmts.get(`UPDATE error_groups SET status = 'resolved', resolved_at = expires_at
      WHERE status = 'firing' AND expires_at < ?`).run(now).changes);
  });
}

/**
 * Retention: old groups (their occurrences, keys and requests cascade), old dedup keys, audit and done
 * requests. Returns the fingerprints of the deleted groups (the writer's directory forgets them).
 */
export function prune(stmts: Statements, before: number): string[] {
  return stmts.transaction(() => {
    const deleted = all<{ fingerprint: string }>(stmts.get('DELETE FROM error_groups WHERE last_seen < ? RETURNING fingerprint'), before)
      .map((r) => r.fingerprint);
    stmts.get('DELETE FROM occurrence_keys WHERE last_seen < ?').run(before);
    stmts.get('DELETE FROM occurrence_minutes WHERE minute < ?').run(Math.floor(before / 60_000));
    if (deleted.length > 0) stmts.get(PRUNE_REASONS).run();
    stmts.get('DELETE FROM audit WHERE at < ?').run(before);
    stmts.get("DELETE FROM remediation_requests WHERE state = 'done' AND created_at < ?").run(before);
    for (const sql of LOOP_PRUNE) stmts.get(toSqlite(sql)).run(before);
    // Outbox: finished deliveries (their group links cascade), old events, marks of pruned groups.
    stmts.get("DELETE FROM notification_deliveries WHERE state IN ('sent', 'failed') AND created_at < ?").run(before);
    stmts.get('DELETE FROM notification_events WHERE at < ?').run(before);
    stmts.get('DELETE FROM notification_marks WHERE group_id NOT IN (SELECT id FROM error_groups)').run();
    return deleted;
  });
}
