// The PostgreSQL write path: one transaction per batch, safe with every replica writing at once.
//
// Concurrency: HA duplicates of one alert reach different replicas at the same moment, so two
// transactions may decide the same occurrence key concurrently. Each batch therefore first takes a
// transaction-scoped advisory lock per fingerprint, in ascending key order (no cycles, so no
// deadlocks), and only then reads the groups and keys it decides on; a competing batch waits and then
// reads what the first committed. Existing group rows are also locked (FOR UPDATE, fingerprint order),
// which keeps expire() — it skips locked rows — from resolving a group under a batch that decided on
// its old status. Every write is one multi-row statement fed by unnest() arrays, which yield rows in
// array order (fingerprint order for groups, arrival order for occurrences).
import { createHash } from 'node:crypto';
import type { KnownOccurrence } from '../../dedup/decide.ts';
import type { GroupStatus } from '../../domain/types.ts';
import type { RecordItem, RecordResult } from '../types.ts';
import { type ExistingGroup, keyId, planBatch, wantsRemediation } from '../plan.ts';
import { eventsForChanges } from '../outbox.ts';
import { notify } from './notify-payload.ts';
import { insertEvents } from './outbox.ts';
import { ms, msOrNull, text } from './sanitize.ts';
import { rows, type Tx } from './session.ts';

export interface RecordContext {
  maxOccurrences: number;
  /** Identifies this store instance in NOTIFY payloads, so it can ignore its own. */
  origin: string;
  /** This writer's row in the per-minute totals (see occurrence_minutes). */
  shard: number;
}

/** 64-bit advisory lock key of a fingerprint (first 8 bytes of its SHA-256, signed). */
export function lockKey(fingerprint: string): bigint {
  return createHash('sha256').update(fingerprint).digest().readBigInt64BE(0);
}

// A statement of its own: under READ COMMITTED a statement's snapshot is taken when it starts, so
// reads in the same statement as a lock wait would not see the commit that was waited for.
const LOCK = 'SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k';

const SELECT_GROUPS = `SELECT id, fingerprint, status, resolved_at, expires_at, priority FROM error_groups
  WHERE fingerprint = ANY($1::text[]) ORDER BY fingerprint FOR UPDATE`;

const SELECT_KEYS = `SELECT k.fingerprint, k.key, k.seen_count, k.state
  FROM unnest($1::text[], $2::text[]) AS u(fingerprint, key)
  JOIN occurrence_keys k ON k.fingerprint = u.fingerprint AND k.key = u.key`;

const UPSERT_GROUPS = `INSERT INTO error_groups AS g (fingerprint, alert_fingerprint, source, priority, rule,
    status, title, message, namespace, pod, container, workload, labels, count, first_seen, last_seen,
    resolved_at, expires_at, why, remediation_action)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::bigint[], $15::bigint[],
    $16::bigint[], $17::bigint[], $18::bigint[], $19::text[], $20::text[]) AS u
  ON CONFLICT (fingerprint) DO UPDATE SET
    alert_fingerprint = coalesce(excluded.alert_fingerprint, g.alert_fingerprint),
    source = excluded.source, priority = excluded.priority, rule = excluded.rule, status = excluded.status,
    title = excluded.title, message = excluded.message, namespace = excluded.namespace, pod = excluded.pod,
    container = excluded.container, workload = excluded.workload, labels = excluded.labels,
    count = g.count + excluded.count,
    first_seen = least(g.first_seen, excluded.first_seen),
    last_seen = greatest(g.last_seen, excluded.last_seen),
    resolved_at = excluded.resolved_at, expires_at = excluded.expires_at,
    why = excluded.why, remediation_action = excluded.remediation_action
  RETURNING id, fingerprint, count`;

const UPSERT_KEYS = `INSERT INTO occurrence_keys AS k (fingerprint, key, group_id, seen_count, state, last_seen)
  SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[])
  ON CONFLICT (fingerprint, key) DO UPDATE SET
    group_id = excluded.group_id, seen_count = excluded.seen_count, state = excluded.state,
    last_seen = greatest(k.last_seen, excluded.last_seen)`;

// WITH ORDINALITY + ORDER BY: identities follow arrival order, which is what "newest" means below.
const INSERT_OCCURRENCES = `INSERT INTO occurrences (group_id, at, channel, message, count, labels)
  SELECT group_id, at, channel, message, count, labels
  FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[])
    WITH ORDINALITY AS u(group_id, at, channel, message, count, labels, n)
  ORDER BY n`;

// Keep the newest `max` rows per group: everything older than the max-th newest id goes.
const TRIM_OCCURRENCES = `DELETE FROM occurrences o USING unnest($1::bigint[]) AS t(gid)
  WHERE o.group_id = t.gid AND o.id <
    (SELECT id FROM occurrences WHERE group_id = t.gid ORDER BY id DESC OFFSET $2 - 1 LIMIT 1)`;

const ADD_MINUTES = `INSERT INTO occurrence_minutes AS m (minute, shard, count)
  SELECT minute, $3, n FROM unnest($1::bigint[], $2::bigint[]) AS u(minute, n) ORDER BY minute
  ON CONFLICT (minute, shard) DO UPDATE SET count = m.count + excluded.count`;

// FOR UPDATE: a request the leader is claiming right now is skipped (its claim wins), and one we
// retarget cannot be claimed half-way. Normally there is at most one pending request per group.
const PENDING_REQUESTS = `SELECT id, group_id FROM remediation_requests
  WHERE group_id = ANY($1::bigint[]) AND state = 'pending' ORDER BY id FOR UPDATE`;

// A newer occurrence retargets the queued request (the crashing pod may have been replaced).
const RETARGET_REQUESTS = `UPDATE remediation_requests r SET rule = u.rule, action = u.action,
    params = u.params, cooldown_ms = u.cooldown_ms, namespace = u.namespace, pod = u.pod,
    container = u.container, owner = u.owner
  FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[],
    $8::text[], $9::text[]) AS u(id, rule, action, params, cooldown_ms, namespace, pod, container, owner)
  WHERE r.id = u.id`;

const INSERT_REQUESTS = `INSERT INTO remediation_requests (group_id, fingerprint, rule, action, params,
    cooldown_ms, namespace, pod, container, owner, created_at, state, attempts, next_attempt_at)
  SELECT group_id, fingerprint, rule, action, params, cooldown_ms, namespace, pod, container, owner,
    created_at, 'pending', 0, created_at
  FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[],
    $8::text[], $9::text[], $10::text[], $11::bigint[])
    AS u(group_id, fingerprint, rule, action, params, cooldown_ms, namespace, pod, container, owner, created_at)
  RETURNING id, group_id`;

/** NUL-free keys and clamped times, so hostile input cannot make PostgreSQL reject the whole batch. */
function clean(item: RecordItem): RecordItem {
  return {
    ...item,
    fingerprint: text(item.fingerprint),
    receivedAt: ms(item.receivedAt),
    expiresAt: ms(item.expiresAt),
    signal: { ...item.signal, occurrenceKey: text(item.signal.occurrenceKey), endsAt: msOrNull(item.signal.endsAt) },
  };
}

/** Columns of rows as parallel arrays, the shape unnest() takes. */
function columns<T>(list: readonly T[], pick: (x: T) => unknown[]): unknown[][] {
  const cols: unknown[][] = [];
  for (const x of list) {
    const values = pick(x);
    values.forEach((v, i) => (cols[i] ??= []).push(v));
  }
  return cols;
}

export async function recordBatch(tx: Tx, ctx: RecordContext, input: RecordItem[]): Promise<RecordResult[]> {
  if (input.length === 0) return [];
  const items = input.map(clean);
  const fingerprints = [...new Set(items.map((i) => i.fingerprint))];
  const locks = [...new Set(fingerprints.map(lockKey))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  await tx.query(LOCK, [locks.map(String)]);

  const existing = new Map<string, ExistingGroup>();
  for (const g of await rows<ExistingGroup>(tx, SELECT_GROUPS, [fingerprints])) existing.set(g.fingerprint, g);
  const pairs = new Map(items.map((i) => [keyId(i.fingerprint, i.signal.occurrenceKey), i] as const));
  const known = new Map<string, KnownOccurrence>();
  type KeyRow = { fingerprint: string; key: string; seen_count: number; state: GroupStatus };
  const pairCols = columns([...pairs.values()], (i) => [i.fingerprint, i.signal.occurrenceKey]);
  for (const k of await rows<KeyRow>(tx, SELECT_KEYS, pairCols)) {
    known.set(keyId(k.fingerprint, k.key), { seenCount: k.seen_count, state: k.state });
  }

  const plan = planBatch(items, existing, known);

  const groups = new Map<string, { id: number; count: number }>();
  const upserted = await rows<{ id: number; fingerprint: string; count: number }>(tx, UPSERT_GROUPS,
    columns(plan.changes, (c) => {
      const { signal: s, classification: cls } = c.latest;
      return [c.fingerprint, s.alertFingerprint === null ? null : text(s.alertFingerprint), text(s.source),
        text(cls.priority), cls.rule === null ? null : text(cls.rule), c.status, text(s.title), text(s.message),
        text(s.namespace), text(s.pod), text(s.container), text(c.latest.workload), JSON.stringify(s.labels),
        c.countDelta, c.firstSeen, c.lastSeen, c.resolvedAt, c.expiresAt, JSON.stringify(cls.reason),
        cls.remediation?.action ?? null];
    }));
  for (const g of upserted) groups.set(g.fingerprint, g);
  const groupId = (fingerprint: string): number => groups.get(fingerprint)!.id;

  // Notification outbox events, committed with the change that causes them (src/store/outbox.ts).
  await insertEvents(tx, eventsForChanges(plan.changes, existing, groupId));

  await tx.query(UPSERT_KEYS, columns(plan.keys, (k) =>
    [k.fingerprint, k.key, groupId(k.fingerprint), k.seenCount, k.state, k.lastSeen]));

  const occurring = items.flatMap((item, i) => (plan.decisions[i].countDelta > 0 ? [i] : []));
  if (occurring.length > 0) {
    await tx.query(INSERT_OCCURRENCES, columns(occurring, (i) => {
      const { signal: s, receivedAt, fingerprint } = items[i];
      return [groupId(fingerprint), receivedAt, text(s.channel), text(s.message), plan.decisions[i].countDelta,
        JSON.stringify(s.labels)];
    }));
    // Rows never outnumber the count, so only groups that gained rows past the cap need trimming.
    const full = [...new Set(occurring.map((i) => items[i].fingerprint))]
      .map((fp) => groups.get(fp)!).filter((g) => g.count > ctx.maxOccurrences).map((g) => g.id);
    if (full.length > 0) await tx.query(TRIM_OCCURRENCES, [full, ctx.maxOccurrences]);
    const minutes = new Map<number, number>();
    for (const i of occurring) {
      const minute = Math.floor(items[i].receivedAt / 60_000);
      minutes.set(minute, (minutes.get(minute) ?? 0) + plan.decisions[i].countDelta);
    }
    await tx.query(ADD_MINUTES, [[...minutes.keys()], [...minutes.values()], ctx.shard]);
  }

  const wants = plan.decisions.map((d, i) => wantsRemediation(items[i], d));
  const requests = await queueRequests(tx, items, wants, groupId);

  const results: RecordResult[] = items.map((item, i) => {
    const d = plan.decisions[i];
    const id = groupId(item.fingerprint);
    return { groupId: id, outcome: d.outcome, countDelta: d.countDelta, remediationRequestId: wants[i] ? requests.get(id)! : null };
  });

  const changed = [...new Set(results.filter((r) => r.outcome !== 'stale').map((r) => r.groupId))];
  if (changed.length > 0 || requests.size > 0) {
    await notify(tx, ctx.origin, { groupIds: changed, remediationQueued: requests.size > 0 });
  }
  return results;
}

/**
 * One outstanding request per group: a burst of occurrences (a crash loop) queues one action, and
 * later occurrences retarget it to the newest item instead of piling up requests the cooldown would
 * only skip. Returns group id → request id for every group that queued or retargeted one.
 */
async function queueRequests(tx: Tx, items: RecordItem[], wants: boolean[], groupId: (fp: string) => number): Promise<Map<number, number>> {
  const latest = new Map<number, RecordItem>();
  // A new request is due from the group's first wanting item of the batch (as on SQLite).
  const first = new Map<number, number>();
  items.forEach((item, i) => {
    if (!wants[i]) return;
    const gid = groupId(item.fingerprint);
    latest.set(gid, item);
    if (!first.has(gid)) first.set(gid, item.receivedAt);
  });
  const out = new Map<number, number>();
  if (latest.size === 0) return out;

  for (const r of await rows<{ id: number; group_id: number }>(tx, PENDING_REQUESTS, [[...latest.keys()]])) {
    out.set(r.group_id, r.id); // ascending ids: the newest pending request wins, like SQLite
  }
  const target = (item: RecordItem): unknown[] => {
    const r = item.classification.remediation!;
    const s = item.signal;
    return [text(item.classification.rule ?? ''), r.action, JSON.stringify(r.params), ms(r.cooldownMs),
      text(s.namespace), text(s.pod), text(s.container), s.owner ? JSON.stringify(s.owner) : null];
  };
  const retarget = [...out].map(([gid, id]) => [id, ...target(latest.get(gid)!)]);
  if (retarget.length > 0) await tx.query(RETARGET_REQUESTS, columns(retarget, (row) => row));

  const fresh = [...latest].filter(([gid]) => !out.has(gid));
  if (fresh.length > 0) {
    const created = await rows<{ id: number; group_id: number }>(tx, INSERT_REQUESTS, columns(fresh, ([gid, item]) =>
      [gid, item.fingerprint, ...target(item), first.get(gid)!]));
    for (const r of created) out.set(r.group_id, r.id);
  }
  return out;
}
