// The write path: one transaction per batch (DESIGN §3). Items are decided in arrival order against
// their occurrence keys, then merged per fingerprint and applied in fingerprint order.
import type { SQLInputValue } from 'node:sqlite';
import type { KnownOccurrence } from '../../dedup/decide.ts';
import type { GroupStatus } from '../../domain/types.ts';
import { type ExistingGroup, keyId, planBatch, wantsRemediation } from '../plan.ts';
import type { RecordItem, RecordResult } from '../types.ts';
import { eventsForChanges } from '../outbox.ts';
import {
  keepsOwn, OWN_COLUMNS, ownRequest, type OwnRow, planRequests, requestIdOf, SHAREABLE, targetKey, targetOf, type WantingGroup,
} from '../request-sharing.ts';
import { bulk } from './bulk.ts';
import type { GroupDirectory } from './group-directory.ts';
import type { Reasons } from './reasons.ts';
import { insertEvents } from './outbox.ts';
import type { Statements } from './statements.ts';
import { all, one } from './statements.ts';

// By id: the writer's directory names the ids (migration V10 dropped the fingerprint index).
const SELECT_GROUPS = `SELECT id, fingerprint, status, resolved_at, expires_at, priority FROM error_groups
  WHERE id IN (SELECT value FROM json_each(?))`;

// One statement for all keys of the batch: json_each drives primary-key lookups. Keys are stored by
// group id (migration V4: new groups append instead of landing on random pages of a hash-keyed index),
// so only items of groups that already exist can have one.
const SELECT_KEYS = `SELECT k.group_id, k.key, k.seen_count, k.state
  FROM json_each(?) j JOIN occurrence_keys k
    ON k.group_id = j.value ->> 0 AND k.key = j.value ->> 1`;

// A new group comes with a NULL id (SQLite assigns the next rowid); an existing one with its own.
const UPSERT_GROUPS = (values: string): string => `INSERT INTO error_groups (id, fingerprint, alert_fingerprint,
    source, priority, rule, status, title, message, namespace, pod, container, workload, labels, count,
    first_seen, last_seen, resolved_at, expires_at, why, remediation_action)
  VALUES ${values}
  ON CONFLICT (id) DO UPDATE SET
    alert_fingerprint = coalesce(excluded.alert_fingerprint, alert_fingerprint),
    source = excluded.source, priority = excluded.priority, rule = excluded.rule, status = excluded.status,
    title = excluded.title, message = excluded.message, namespace = excluded.namespace, pod = excluded.pod,
    container = excluded.container, workload = excluded.workload, labels = excluded.labels,
    count = count + excluded.count,
    first_seen = min(first_seen, excluded.first_seen),
    last_seen = max(last_seen, excluded.last_seen),
    resolved_at = excluded.resolved_at, expires_at = excluded.expires_at,
    why = excluded.why, remediation_action = excluded.remediation_action
  RETURNING fingerprint, id, count`;

const UPSERT_KEYS = (values: string): string => `INSERT INTO occurrence_keys (group_id, key,
    seen_count, state, last_seen)
  VALUES ${values}
  ON CONFLICT (group_id, key) DO UPDATE SET
    seen_count = excluded.seen_count, state = excluded.state,
    last_seen = max(last_seen, excluded.last_seen)`;

const INSERT_OCCURRENCES = (values: string): string =>
  `INSERT INTO occurrences (group_id, at, channel, message, count, labels) VALUES ${values}`;

// Keep the newest `max` rows: everything older than the max-th newest id goes.
const TRIM_OCCURRENCES = `DELETE FROM occurrences WHERE group_id = ?1 AND id <
  (SELECT id FROM occurrences WHERE group_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2 - 1)`;

const ADD_MINUTE = `INSERT INTO occurrence_minutes (minute, count) VALUES (?, ?)
  ON CONFLICT (minute) DO UPDATE SET count = count + excluded.count`;

const PENDING_REQUEST = `SELECT ${OWN_COLUMNS} FROM remediation_requests WHERE group_id = ? AND state = 'pending'
  ORDER BY id DESC LIMIT 1`;

// A request queued by ingest for the same target, still pending and never tried (request-sharing.ts).
const SHARED_REQUEST = `SELECT id, shared FROM remediation_requests WHERE pod = ? AND namespace = ? AND ${SHAREABLE}
  AND rule = ? AND action = ? AND params = ? AND cooldown_ms = ? AND container = ? AND owner IS ? ORDER BY id LIMIT 1`;

// A newer occurrence retargets the queued request (the crashing pod may have been replaced).
const RETARGET_REQUEST = `UPDATE remediation_requests SET rule = ?, action = ?, params = ?, cooldown_ms = ?,
  namespace = ?, pod = ?, container = ?, owner = ?, shared = max(shared, ?) WHERE id = ?`;

const MARK_SHARED = `UPDATE remediation_requests SET shared = 1 WHERE id IN (SELECT value FROM json_each(?)) AND shared = 0`;

const INSERT_REQUESTS = (values: string): string => `INSERT INTO remediation_requests (group_id, fingerprint,
    rule, action, params, cooldown_ms, namespace, pod, container, owner, created_at, state, attempts, next_attempt_at, shared)
  VALUES ${values}
  RETURNING id, group_id`;

export interface RecordContext {
  maxOccurrences: number;
  reasons: Reasons;
  /** The writer's fingerprint → group id directory. */
  directory: GroupDirectory;
  /** Write the outbox events of the changes (SqliteStoreOptions.notifyOnIngest). */
  notify: boolean;
}

export function recordBatch(stmts: Statements, items: RecordItem[], ctx: RecordContext): RecordResult[] {
  if (items.length === 0) return [];
  const { maxOccurrences, reasons, directory } = ctx;

  const existing = new Map<string, ExistingGroup>();
  const fingerprints = new Set(items.map((i) => i.fingerprint));
  const ids = directory.idsOf(stmts, fingerprints);
  // A directory entry is a hint (group-directory.ts): rows are keyed by their own fingerprint, so an
  // entry pointing at a row another group now holds cannot make this batch join that group.
  if (ids.length > 0) {
    for (const g of all<ExistingGroup>(stmts.get(SELECT_GROUPS), JSON.stringify(ids))) {
      if (fingerprints.has(g.fingerprint)) existing.set(g.fingerprint, g);
    }
  }
  const known = new Map<string, KnownOccurrence>();
  const byId = new Map<number, string>();
  const lookups = new Set<string>();
  for (const i of items) {
    const g = existing.get(i.fingerprint);
    if (!g) continue;
    byId.set(g.id, g.fingerprint);
    lookups.add(JSON.stringify([g.id, i.signal.occurrenceKey]));
  }
  type KeyRow = { group_id: number; key: string; seen_count: number; state: GroupStatus };
  if (lookups.size > 0) {
    for (const k of all<KeyRow>(stmts.get(SELECT_KEYS), `[${[...lookups].join(',')}]`)) {
      known.set(keyId(byId.get(k.group_id)!, k.key), { seenCount: k.seen_count, state: k.state });
    }
  }

  // 1. Decide in arrival order and fold per group (pure; shared with the PostgreSQL adapter).
  const { decisions, changes, keys } = planBatch(items, existing, known);

  // 2. Group upserts in fingerprint order, so concurrent writers (PostgreSQL) lock rows alike. The
  // group takes the newest item's text; `why` is stored once per distinct reason (migration V6).
  const groupText = new Map<string, { message: string; labels: string; labelsOf: object }>();
  const groupRows = changes.map((c): SQLInputValue[] => {
    const { signal, classification: cls } = c.latest;
    const labels = JSON.stringify(signal.labels);
    groupText.set(c.fingerprint, { message: signal.message, labels, labelsOf: signal.labels });
    return [existing.get(c.fingerprint)?.id ?? null, c.fingerprint, signal.alertFingerprint, signal.source, cls.priority, cls.rule, c.status,
      signal.title, signal.message, signal.namespace, signal.pod, signal.container, c.latest.workload,
      labels, c.countDelta, c.firstSeen, c.lastSeen, c.resolvedAt, c.expiresAt,
      reasons.ref(stmts, JSON.stringify(cls.reason)), cls.remediation?.action ?? null];
  });
  const groups = new Map<string, { id: number; count: number }>();
  for (const g of bulk<{ fingerprint: string; id: number; count: number }>(stmts, UPSERT_GROUPS, groupRows)) {
    groups.set(g.fingerprint, g);
    if (!existing.has(g.fingerprint)) directory.learn(g.fingerprint, g.id);
  }

  // 2b. Notification outbox events, committed with the change that causes them.
  if (ctx.notify) insertEvents(stmts, eventsForChanges(changes, existing, (fp) => groups.get(fp)!.id));

  // 3. Dedup memory.
  bulk(stmts, UPSERT_KEYS, keys.map((k): SQLInputValue[] =>
    [groups.get(k.fingerprint)!.id, k.key, k.seenCount, k.state, k.lastSeen]));

  // 4. Occurrence rows and remediation requests, per real occurrence.
  const occurrenceRows: SQLInputValue[][] = [];
  const grown = new Set<number>();
  const minutes = new Map<number, number>();
  const wanting = new Map<number, Wanting>();
  const results: RecordResult[] = items.map((item, i) => {
    const d = decisions[i];
    const groupId = groups.get(item.fingerprint)!.id;
    if (d.countDelta > 0) {
      const s = item.signal;
      // Text equal to the group's is stored as '' ("as the group", migration V6): the common case.
      const g = groupText.get(item.fingerprint)!;
      const labels = s.labels === g.labelsOf ? g.labels : JSON.stringify(s.labels);
      const same = s.message === g.message && labels === g.labels;
      occurrenceRows.push([groupId, item.receivedAt, s.channel, same ? '' : s.message, d.countDelta, same ? '' : labels]);
      grown.add(groupId);
      const minute = Math.floor(item.receivedAt / 60_000);
      minutes.set(minute, (minutes.get(minute) ?? 0) + d.countDelta);
      if (wantsRemediation(item, d)) {
        const w = wanting.get(groupId);
        if (w) w.last = item;
        else wanting.set(groupId, { first: item, last: item, existed: existing.has(item.fingerprint) });
      }
    }
    return { groupId, outcome: d.outcome, countDelta: d.countDelta, remediationRequestId: null };
  });
  if (wanting.size > 0) {
    const requests = queueRequests(stmts, wanting);
    items.forEach((item, i) => {
      if (decisions[i].countDelta > 0 && wantsRemediation(item, decisions[i])) results[i].remediationRequestId = requests.get(results[i].groupId)!;
    });
  }
  bulk(stmts, INSERT_OCCURRENCES, occurrenceRows);

  // Rows never outnumber the count, so only groups that grew past the cap need trimming.
  const trim = stmts.get(TRIM_OCCURRENCES);
  for (const g of groups.values()) {
    if (grown.has(g.id) && g.count > maxOccurrences) trim.run(g.id, maxOccurrences);
  }
  const addMinute = stmts.get(ADD_MINUTE);
  for (const [minute, n] of minutes) addMinute.run(minute, n);
  return results;
}

interface Wanting {
  /** The first and the newest item of the batch that want an action for the group. */
  first: RecordItem;
  last: RecordItem;
  /** Only a group that existed before this batch can have a pending request already. */
  existed: boolean;
}

/**
 * One outstanding request per group and target: a burst of occurrences (a crash loop) queues one
 * action, later occurrences retarget it, and new groups about the same target share it
 * (src/store/request-sharing.ts) instead of piling up requests the cooldown would only skip. Per
 * group of the batch: its pending request is retargeted to the newest item (unless other groups
 * share it and the target moved); otherwise it shares the request queued for its target, or one is
 * created, due from the first item, aimed at the newest. New requests go in one multi-row insert.
 * Returns group id → request id.
 */
function queueRequests(stmts: Statements, wanting: Map<number, Wanting>): Map<number, number> {
  const groups: WantingGroup[] = [];
  const groupOf = new Map<string, number>();
  const queued = new Map<string, number>();
  const looked = new Set<string>();
  const marked = new Set<number>();
  for (const [groupId, w] of wanting) {
    const row = w.existed ? one<OwnRow>(stmts.get(PENDING_REQUEST), groupId) : undefined;
    const own = row ? ownRequest(row) : undefined;
    const target = targetOf(w.last);
    const group: WantingGroup = { fingerprint: w.first.fingerprint, dueAt: w.first.receivedAt, target, own };
    groups.push(group);
    groupOf.set(w.first.fingerprint, groupId);
    const key = targetKey(target);
    if (keepsOwn(group) || looked.has(key)) continue;
    looked.add(key);
    const [rule, action, params, cooldownMs, namespace, pod, container, owner] = target;
    const shared = one<{ id: number; shared: number }>(stmts.get(SHARED_REQUEST), pod, namespace, rule, action, params, cooldownMs, container, owner);
    if (shared) queued.set(key, shared.id);
    if (shared?.shared) marked.add(shared.id);
  }
  const plan = planRequests(groups, queued, marked);
  for (const r of plan.retarget) stmts.get(RETARGET_REQUEST).run(...r.target, r.shared ? 1 : 0, r.id);
  if (plan.nowShared.length > 0) stmts.get(MARK_SHARED).run(JSON.stringify(plan.nowShared));
  const created = new Map<number, number>();
  const fresh = plan.fresh.map((f): SQLInputValue[] => [groupOf.get(f.fingerprint)!, f.fingerprint, ...f.target, f.dueAt, 'pending', 0,
    f.dueAt, f.shared ? 1 : 0]);
  for (const c of bulk<{ id: number; group_id: number }>(stmts, INSERT_REQUESTS, fresh)) created.set(c.group_id, c.id);
  const out = new Map<number, number>();
  for (const fingerprint of plan.requestOf.keys()) {
    out.set(groupOf.get(fingerprint)!, requestIdOf(plan, fingerprint, (creator) => created.get(groupOf.get(creator)!)!));
  }
  return out;
}
