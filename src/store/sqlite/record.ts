// The write path: one transaction per batch (DESIGN §3). Items are decided in arrival order against
// their occurrence keys, then merged per fingerprint and applied in fingerprint order.
import type { SQLInputValue } from 'node:sqlite';
import { decideOccurrence } from '../../dedup/decide.ts';
import type { DedupDecision, KnownOccurrence } from '../../dedup/decide.ts';
import type { GroupStatus } from '../../domain/types.ts';
import type { RecordItem, RecordResult } from '../types.ts';
import { bulk } from './bulk.ts';
import type { Statements } from './statements.ts';
import { all, one } from './statements.ts';

interface ExistingGroup {
  id: number;
  fingerprint: string;
  status: GroupStatus;
  resolved_at: number | null;
  expires_at: number | null;
}

/** Everything one batch does to one group, folded in arrival order. */
interface GroupChange {
  fingerprint: string;
  latest: RecordItem;
  countDelta: number;
  firstSeen: number;
  lastSeen: number;
  status: GroupStatus;
  resolvedAt: number | null;
  expiresAt: number | null;
}

const SELECT_GROUPS = `SELECT id, fingerprint, status, resolved_at, expires_at FROM error_groups
  WHERE fingerprint IN (SELECT value FROM json_each(?))`;

// One statement for all keys of the batch: json_each drives primary-key lookups.
const SELECT_KEYS = `SELECT k.fingerprint, k.key, k.seen_count, k.state
  FROM json_each(?) j JOIN occurrence_keys k
    ON k.fingerprint = j.value ->> 0 AND k.key = j.value ->> 1`;

const UPSERT_GROUPS = (values: string): string => `INSERT INTO error_groups (fingerprint, alert_fingerprint,
    source, priority, rule, status, title, message, namespace, pod, container, workload, labels, count,
    first_seen, last_seen, resolved_at, expires_at, why, remediation_action)
  VALUES ${values}
  ON CONFLICT (fingerprint) DO UPDATE SET
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

const UPSERT_KEYS = (values: string): string => `INSERT INTO occurrence_keys (fingerprint, key, group_id,
    seen_count, state, last_seen)
  VALUES ${values}
  ON CONFLICT (fingerprint, key) DO UPDATE SET
    group_id = excluded.group_id, seen_count = excluded.seen_count, state = excluded.state,
    last_seen = max(last_seen, excluded.last_seen)`;

const INSERT_OCCURRENCES = (values: string): string =>
  `INSERT INTO occurrences (group_id, at, channel, message, count, labels) VALUES ${values}`;

// Keep the newest `max` rows: everything older than the max-th newest id goes.
const TRIM_OCCURRENCES = `DELETE FROM occurrences WHERE group_id = ?1 AND id <
  (SELECT id FROM occurrences WHERE group_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2 - 1)`;

const ADD_MINUTE = `INSERT INTO occurrence_minutes (minute, count) VALUES (?, ?)
  ON CONFLICT (minute) DO UPDATE SET count = count + excluded.count`;

const PENDING_REQUEST = `SELECT id FROM remediation_requests WHERE group_id = ? AND state = 'pending'
  ORDER BY id DESC LIMIT 1`;

// A newer occurrence retargets the queued request (the crashing pod may have been replaced).
const RETARGET_REQUEST = `UPDATE remediation_requests SET rule = ?, action = ?, params = ?, cooldown_ms = ?,
  namespace = ?, pod = ?, container = ?, owner = ? WHERE id = ?`;

const INSERT_REQUEST = `INSERT INTO remediation_requests (group_id, fingerprint, rule, action, params,
    cooldown_ms, namespace, pod, container, owner, created_at, state, attempts, next_attempt_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?)
  RETURNING id`;

const keyId = (fingerprint: string, key: string): string => JSON.stringify([fingerprint, key]);

/** A resolution time from the sender, but never in the future of when we heard about it. */
function resolvedAtOf(item: RecordItem): number {
  const endsAt = item.signal.endsAt;
  return endsAt !== null && Number.isFinite(endsAt) && endsAt <= item.receivedAt ? endsAt : item.receivedAt;
}

function wantsRemediation(item: RecordItem, decision: DedupDecision): boolean {
  const r = item.classification.remediation;
  return r !== null && r.action !== 'none' && item.signal.state === 'firing' && decision.countDelta > 0;
}

function fold(change: GroupChange | undefined, item: RecordItem, d: DedupDecision, existing?: ExistingGroup): GroupChange {
  const c: GroupChange = change ?? {
    fingerprint: item.fingerprint,
    latest: item,
    countDelta: 0,
    firstSeen: item.receivedAt,
    lastSeen: item.receivedAt,
    // Without an effect, the group keeps what it had (a null effect implies the group exists).
    status: existing?.status ?? 'firing',
    resolvedAt: existing?.resolved_at ?? null,
    expiresAt: existing?.expires_at ?? item.expiresAt,
  };
  c.latest = item;
  c.countDelta += d.countDelta;
  c.firstSeen = Math.min(c.firstSeen, item.receivedAt);
  c.lastSeen = Math.max(c.lastSeen, item.receivedAt);
  if (d.groupStatus === 'firing') {
    c.status = 'firing';
    c.resolvedAt = null;
    c.expiresAt = item.expiresAt;
  } else if (d.groupStatus === 'resolved') {
    c.status = 'resolved';
    c.resolvedAt = resolvedAtOf(item);
  }
  return c;
}

/** One occurrence key touched by the batch: what the store knew, then what this batch leaves. */
interface KeyState {
  fingerprint: string;
  key: string;
  known: KnownOccurrence | null;
  lastSeen: number;
}

const byFingerprint = (a: GroupChange, b: GroupChange): number =>
  (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0);

export function recordBatch(stmts: Statements, maxOccurrences: number, items: RecordItem[]): RecordResult[] {
  if (items.length === 0) return [];

  const existing = new Map<string, ExistingGroup>();
  const fingerprints = [...new Set(items.map((i) => i.fingerprint))];
  for (const g of all<ExistingGroup>(stmts.get(SELECT_GROUPS), JSON.stringify(fingerprints))) {
    existing.set(g.fingerprint, g);
  }
  const keys = new Map<string, KeyState>();
  for (const i of items) {
    const id = keyId(i.fingerprint, i.signal.occurrenceKey);
    if (!keys.has(id)) keys.set(id, { fingerprint: i.fingerprint, key: i.signal.occurrenceKey, known: null, lastSeen: i.receivedAt });
  }
  type KeyRow = { fingerprint: string; key: string; seen_count: number; state: GroupStatus };
  for (const k of all<KeyRow>(stmts.get(SELECT_KEYS), `[${[...keys.keys()].join(',')}]`)) {
    keys.get(keyId(k.fingerprint, k.key))!.known = { seenCount: k.seen_count, state: k.state };
  }

  // 1. Decide in arrival order; later items see earlier ones through the in-memory state.
  const decisions: DedupDecision[] = [];
  const changes = new Map<string, GroupChange>();
  for (const item of items) {
    const k = keys.get(keyId(item.fingerprint, item.signal.occurrenceKey))!;
    const groupExists = existing.has(item.fingerprint) || changes.has(item.fingerprint);
    const d = decideOccurrence(k.known, item.signal, groupExists);
    decisions.push(d);
    k.known = { seenCount: d.nextSeenCount, state: d.nextState };
    k.lastSeen = Math.max(k.lastSeen, item.receivedAt);
    changes.set(item.fingerprint, fold(changes.get(item.fingerprint), item, d, existing.get(item.fingerprint)));
  }

  // 2. Group upserts in fingerprint order, so concurrent writers (PostgreSQL) lock rows alike.
  const groupRows = [...changes.values()].sort(byFingerprint).map((c): SQLInputValue[] => {
    const { signal, classification: cls } = c.latest;
    return [c.fingerprint, signal.alertFingerprint, signal.source, cls.priority, cls.rule, c.status,
      signal.title, signal.message, signal.namespace, signal.pod, signal.container, c.latest.workload,
      JSON.stringify(signal.labels), c.countDelta, c.firstSeen, c.lastSeen, c.resolvedAt, c.expiresAt,
      JSON.stringify(cls.reason), cls.remediation?.action ?? null];
  });
  const groups = new Map<string, { id: number; count: number }>();
  for (const g of bulk<{ fingerprint: string; id: number; count: number }>(stmts, UPSERT_GROUPS, groupRows)) {
    groups.set(g.fingerprint, g);
  }

  // 3. Dedup memory.
  bulk(stmts, UPSERT_KEYS, [...keys.values()].map((k): SQLInputValue[] =>
    [k.fingerprint, k.key, groups.get(k.fingerprint)!.id, k.known!.seenCount, k.known!.state, k.lastSeen]));

  // 4. Occurrence rows and remediation requests, per real occurrence.
  const occurrenceRows: SQLInputValue[][] = [];
  const grown = new Set<number>();
  const minutes = new Map<number, number>();
  const requestByGroup = new Map<number, number>();
  const results: RecordResult[] = items.map((item, i) => {
    const d = decisions[i];
    const groupId = groups.get(item.fingerprint)!.id;
    let remediationRequestId: number | null = null;
    if (d.countDelta > 0) {
      const s = item.signal;
      occurrenceRows.push([groupId, item.receivedAt, s.channel, s.message, d.countDelta, JSON.stringify(s.labels)]);
      grown.add(groupId);
      const minute = Math.floor(item.receivedAt / 60_000);
      minutes.set(minute, (minutes.get(minute) ?? 0) + d.countDelta);
      if (wantsRemediation(item, d)) {
        remediationRequestId = queueRequest(stmts, requestByGroup, groupId, item);
      }
    }
    return { groupId, outcome: d.outcome, countDelta: d.countDelta, remediationRequestId };
  });
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

/**
 * One outstanding request per group: a burst of occurrences (a crash loop) queues one action, and
 * later occurrences retarget it instead of piling up requests the cooldown would only skip.
 */
function queueRequest(stmts: Statements, requestByGroup: Map<number, number>, groupId: number, item: RecordItem): number {
  const r = item.classification.remediation!;
  const s = item.signal;
  const target = [item.classification.rule ?? '', r.action, JSON.stringify(r.params), r.cooldownMs,
    s.namespace, s.pod, s.container, s.owner ? JSON.stringify(s.owner) : null] as const;
  const pending = requestByGroup.get(groupId)
    ?? one<{ id: number }>(stmts.get(PENDING_REQUEST), groupId)?.id;
  if (pending !== undefined) {
    stmts.get(RETARGET_REQUEST).run(...target, pending);
    requestByGroup.set(groupId, pending);
    return pending;
  }
  const created = one<{ id: number }>(stmts.get(INSERT_REQUEST),
    groupId, item.fingerprint, ...target, item.receivedAt, item.receivedAt)!;
  requestByGroup.set(groupId, created.id);
  return created.id;
}
