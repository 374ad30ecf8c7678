// The PostgreSQL write path: one transaction per batch, safe with every replica writing at once.
//
// Concurrency: HA duplicates of one alert reach different replicas at the same moment, so two
// transactions may decide the same occurrence key concurrently. Each batch therefore first takes a
// transaction-scoped advisory lock per fingerprint, in ascending key order (no cycles, so no
// deadlocks), and only then reads the groups and keys it decides on; a competing batch waits and then
// reads what the first committed. Existing group rows are also locked (FOR UPDATE, fingerprint order),
// which keeps expire() — it skips locked rows — from resolving a group under a batch that decided on
// its old status. Writes are fed by unnest() arrays, which yield rows in array order (fingerprint order
// for groups, arrival order for occurrences).
//
// Round trips (issue #12: at one alert per batch they, not the rows, were the cost, and on a small
// machine each one is CPU on both ends, not only latency): BEGIN with the advisory locks and the read
// of groups and keys (and of the shareable requests for the batch's pods); [the pending requests of
// existing groups that want an action]; one statement with every write; [trimming occurrences past
// the cap]; NOTIFY with COMMIT. Three for a typical batch, where there were thirteen.
import { hash } from 'node:crypto';
import type { KnownOccurrence } from '../../dedup/decide.ts';
import type { GroupStatus } from '../../domain/types.ts';
import type { RecordItem, RecordResult } from '../types.ts';
import { type ExistingGroup, keyId, mayWantRemediation, planBatch, wantsRemediation } from '../plan.ts';
import { eventsForChanges } from '../outbox.ts';
import {
  keepsOwn, OWN_COLUMNS, type OwnRequest, ownRequest, type OwnRow, planRequests, requestIdOf, rowTarget, SHAREABLE, targetKey, targetOf,
  type WantingGroup,
} from '../request-sharing.ts';
import { notifyAtCommit } from './notify-payload.ts';
import { binaryArray, binaryColumns } from './binary-array.ts';
import { literal, ms, msOrNull, text } from './sanitize.ts';
import { rows, type Tx } from './session.ts';

export interface RecordContext {
  maxOccurrences: number;
  /** Identifies this store instance in NOTIFY payloads, so it can ignore its own. */
  origin: string;
  /** Write the outbox events of the changes (PostgresStoreOptions.notifyOnIngest). */
  notify: boolean;
}

/** 64-bit advisory lock key of a fingerprint (first 8 bytes of its SHA-256, signed). */
function lockKey(fingerprint: string): bigint {
  // One-shot hash with hex output: about a fifth of createHash().digest()'s cost per item.
  return BigInt.asIntN(64, BigInt(`0x${hash('sha256', fingerprint, 'hex').slice(0, 16)}`));
}

// Sent in BEGIN's round trip, but a statement of its own: under READ COMMITTED a statement's snapshot is
// taken when it starts, so reads in the same statement as a lock wait would not see the commit that
// was waited for. The keys are our own integers, written as an array literal. The fingerprints are
// already cleaned (prepareBatch).
function lockStatement(fingerprints: readonly string[]): string {
  const keys = [...new Set(fingerprints.map(lockKey))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `SELECT count(pg_advisory_xact_lock(k)) FROM unnest('{${keys.join(',')}}'::bigint[]) AS k`;
}

const ESCAPED = /[\\"]/g;

/**
 * An array's text form, which PostgreSQL reads for any array type: strings double-quoted with `"` and
 * `\` escaped by `\` (only where there is one), numbers as they are, null as NULL. For the read in
 * BEGIN's round trip (textArray), which can carry no parameters; the write's go as binary arrays
 * (binary-array.ts). Built by one join, so the text is flat from the start: a string grown by `+=` is
 * a chain of pieces that is copied once more when sent (issue #12).
 */
export function arrayText(values: readonly unknown[]): string {
  if (values.length === 0) return '{}';
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) parts[i] = 'NULL';
    else if (typeof v === 'number') parts[i] = String(v);
    else {
      const t = String(v);
      parts[i] = `"${t.includes('"') || t.includes('\\') ? t.replace(ESCAPED, '\\$&') : t}"`;
    }
  }
  // The braces go on the first and last parts: wrapping the joined text would make it a chain again.
  parts[0] = `{${parts[0]}`;
  parts[parts.length - 1] += '}';
  return parts.join(',');
}

/**
 * A text[] literal: the array's text form, quoted as a string literal (sanitize.ts literal()). The read
 * rides in BEGIN's simple-protocol round trip, which carries no parameters.
 */
export function textArray(values: readonly string[]): string {
  return `${literal(arrayText(values))}::text[]`;
}

// The batch's groups (locked, fingerprint order) and its known occurrence keys, in one statement after
// the locks: rows tagged 'g' carry a group, rows tagged 'k' an occurrence key. Planned per batch, with
// the tables' current sizes (a plan cached while the tables were empty would scan them). Each key is
// one probe of the primary key (LATERAL … LIMIT 1 keeps it a probe): at tens of thousands of keys the
// planner otherwise hashed the whole table for a few hundred lookups.
const readStatement = (fingerprints: readonly string[], keyFingerprints: readonly string[], keys: readonly string[]): string => `WITH g AS (
    SELECT id, fingerprint, status, resolved_at, expires_at, priority FROM error_groups
    WHERE fingerprint = ANY(${textArray(fingerprints)}) ORDER BY fingerprint FOR UPDATE
  ), k AS (
    SELECT k.fingerprint, k.key, k.seen_count, k.state
    FROM unnest(${textArray(keyFingerprints)}, ${textArray(keys)}) AS u(fingerprint, key)
    CROSS JOIN LATERAL (SELECT fingerprint, key, seen_count, state FROM occurrence_keys
      WHERE fingerprint = u.fingerprint AND key = u.key LIMIT 1) AS k
  )
  SELECT 'g' AS t, id, fingerprint, status, resolved_at, expires_at, priority, NULL AS key, NULL::bigint AS seen_count FROM g
  UNION ALL
  SELECT 'k', NULL, fingerprint, state, NULL, NULL, NULL, key, seen_count FROM k`;

// Every write of the batch in one statement (one round trip, planned once per connection as a named
// statement): the group upsert's RETURNING gives the ids the other parts join on by fingerprint. Parts
// with nothing to write get empty arrays. Data-modifying CTEs share one snapshot and cannot see each
// other's rows, which none of these parts needs (each writes a different table; the foreign keys are
// checked at the end of the statement, when the groups exist).
const WRITE = `WITH g AS (
    INSERT INTO error_groups AS g (fingerprint, alert_fingerprint, source, priority, rule,
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
    RETURNING id, fingerprint, count
  ), events AS (
    INSERT INTO notification_events (group_id, kind, at, detail)
    SELECT g.id, u.kind, u.at, u.detail
    FROM unnest($21::text[], $22::text[], $23::bigint[], $24::text[]) WITH ORDINALITY AS u(fingerprint, kind, at, detail, n)
    JOIN g USING (fingerprint) ORDER BY u.n
  ), keys AS (
    INSERT INTO occurrence_keys AS k (fingerprint, key, group_id, seen_count, state, last_seen)
    SELECT u.fingerprint, u.key, g.id, u.seen_count, u.state, u.last_seen
    FROM unnest($25::text[], $26::text[], $27::bigint[], $28::text[], $29::bigint[]) AS u(fingerprint, key, seen_count, state, last_seen)
    JOIN g USING (fingerprint)
    ON CONFLICT (fingerprint, key) DO UPDATE SET
      group_id = excluded.group_id, seen_count = excluded.seen_count, state = excluded.state,
      last_seen = greatest(k.last_seen, excluded.last_seen)
  ), occ AS (
    -- WITH ORDINALITY + ORDER BY: identities follow arrival order, which is what "newest" means in trims.
    INSERT INTO occurrences (group_id, at, channel, message, count, labels)
    SELECT g.id, u.at, u.channel, u.message, u.count, u.labels
    FROM unnest($30::text[], $31::bigint[], $32::text[], $33::text[], $34::bigint[], $35::text[])
      WITH ORDINALITY AS u(fingerprint, at, channel, message, count, labels, n)
    JOIN g USING (fingerprint) ORDER BY u.n
  ), minutes AS (
    INSERT INTO occurrence_minutes AS m (minute, shard, count)
    SELECT minute, pg_backend_pid(), n FROM unnest($36::bigint[], $37::bigint[]) AS u(minute, n) ORDER BY minute
    ON CONFLICT (minute, shard) DO UPDATE SET count = m.count + excluded.count
  ), retarget AS (
    -- A newer occurrence retargets the queued request (the crashing pod may have been replaced).
    UPDATE remediation_requests r SET rule = u.rule, action = u.action,
      params = u.params, cooldown_ms = u.cooldown_ms, namespace = u.namespace, pod = u.pod,
      container = u.container, owner = u.owner, shared = greatest(r.shared, u.shared)
    FROM unnest($38::bigint[], $39::text[], $40::text[], $41::text[], $42::bigint[], $43::text[], $44::text[],
      $45::text[], $46::text[], $57::int[]) AS u(id, rule, action, params, cooldown_ms, namespace, pod, container, owner, shared)
    WHERE r.id = u.id
  ), marked AS (
    -- Requests another group now shares, once (never one retargeted above: a row is updated once per
    -- statement; nor one already marked, which is neither written nor locked again). SKIP LOCKED: a
    -- request being claimed is not waited for.
    UPDATE remediation_requests SET shared = 1
    WHERE id IN (SELECT id FROM remediation_requests WHERE id = ANY($59::bigint[]) AND shared = 0 FOR NO KEY UPDATE SKIP LOCKED)
  ), requests AS (
    INSERT INTO remediation_requests (group_id, fingerprint, rule, action, params,
      cooldown_ms, namespace, pod, container, owner, created_at, state, attempts, next_attempt_at, shared)
    SELECT g.id, u.fingerprint, u.rule, u.action, u.params, u.cooldown_ms, u.namespace, u.pod, u.container,
      u.owner, u.created_at, 'pending', 0, u.created_at, u.shared
    FROM unnest($47::text[], $48::text[], $49::text[], $50::text[], $51::bigint[], $52::text[], $53::text[],
      $54::text[], $55::text[], $56::bigint[], $58::int[]) WITH ORDINALITY
      AS u(fingerprint, rule, action, params, cooldown_ms, namespace, pod, container, owner, created_at, shared, n)
    JOIN g USING (fingerprint) ORDER BY u.n
    RETURNING id, group_id
  )
  SELECT 'g' AS t, id, fingerprint, count FROM g
  UNION ALL
  SELECT 'r', id, NULL, group_id FROM requests`;

// Keep the newest `max` rows per group: everything older than the max-th newest id goes.
const TRIM_OCCURRENCES = `DELETE FROM occurrences o USING unnest($1::bigint[]) AS t(gid)
  WHERE o.group_id = t.gid AND o.id <
    (SELECT id FROM occurrences WHERE group_id = t.gid ORDER BY id DESC OFFSET $2 - 1 LIMIT 1)`;

// FOR UPDATE: a request the leader is claiming right now is skipped (its claim wins), and one we
// retarget cannot be claimed half-way. Normally there is at most one pending request per group.
// Only groups that existed before the batch can have one.
const PENDING_REQUESTS = `SELECT group_id, ${OWN_COLUMNS} FROM remediation_requests
  WHERE group_id = ANY($1::bigint[]) AND state = 'pending' ORDER BY id FOR UPDATE`;

// The shareable requests queued for the pods the batch's items could want an action on
// (request-sharing.ts), read in BEGIN's round trip. Not locked: a lock held until the batch commits
// would make the leader's claim (SKIP LOCKED) pass over the request for as long as a storm keeps
// batches coming. A request claimed meanwhile is shared all the same: its action is being taken on that
// very target at the moment this batch's signal arrived.
export const sharedStatement = (pods: Iterable<string>, namespaces: Iterable<string>): string =>
  `SELECT id, shared, rule, action, params, cooldown_ms, namespace, pod, container, owner FROM remediation_requests
  WHERE pod = ANY(${textArray([...new Set(pods)])}) AND namespace = ANY(${textArray([...new Set(namespaces)])}) AND ${SHAREABLE} ORDER BY id`;

type SharedRow = Omit<OwnRow, 'shareable'>;

/**
 * Remediation: per group, the newest wanting item is the target. A group that existed may already have
 * a pending request (locked here, retargeted by the write unless other groups share it and it would
 * move); otherwise it shares the request queued for its target, or one is created, due from the
 * group's first wanting item of the batch.
 */
async function queueRequests(tx: Tx, items: readonly RecordItem[], wants: readonly boolean[], existing: Map<string, ExistingGroup>,
  read: readonly SharedRow[] | null) {
  const latest = new Map<string, RecordItem>();
  const first = new Map<string, number>();
  items.forEach((item, i) => {
    if (!wants[i]) return;
    latest.set(item.fingerprint, item);
    if (!first.has(item.fingerprint)) first.set(item.fingerprint, item.receivedAt);
  });
  const pendingOf = new Map<number, OwnRequest>();
  const oldIds = [...latest.keys()].flatMap((fp) => existing.has(fp) ? [existing.get(fp)!.id] : []);
  if (oldIds.length > 0) {
    for (const r of await rows<OwnRow & { group_id: number }>(tx, PENDING_REQUESTS, [oldIds])) {
      pendingOf.set(r.group_id, ownRequest(r)); // ascending ids: the newest pending request wins, like SQLite
    }
  }
  const groups: WantingGroup[] = [...latest].map(([fp, item]) => {
    const t = targetOf(item);
    return { fingerprint: fp, dueAt: first.get(fp)!, own: existing.has(fp) ? pendingOf.get(existing.get(fp)!.id) : undefined,
      target: [text(t[0]), t[1], t[2], ms(t[3]), text(t[4]), text(t[5]), text(t[6]), t[7]] };
  });
  // Not read with BEGIN (the batch looked like re-deliveries, prepareBatch): read now if a group needs it.
  const lookups = groups.filter((g) => !keepsOwn(g));
  const shared = read ?? (lookups.length === 0 ? [] : await rows<SharedRow>(tx,
    sharedStatement(lookups.map((g) => g.target[5]), lookups.map((g) => g.target[4])), []));
  const queued = new Map<string, number>();
  for (const r of shared) {
    const key = targetKey(rowTarget(r));
    if (!queued.has(key)) queued.set(key, r.id); // ascending ids: the oldest
  }
  return planRequests(groups, queued, new Set(shared.filter((r) => r.shared !== 0).map((r) => r.id)));
}

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

/** A batch ready to record: its items cleaned, and the statements that ride in BEGIN's round trip. */
export interface PreparedBatch {
  items: RecordItem[];
  /**
   * The advisory locks, then the read of the batch's groups and keys, then (`shares`) the read of the
   * shareable requests for the pods its items could want an action on (TransactionOptions.begin).
   */
  begin: string;
  shares: boolean;
  /** The occurrence keys (keyId) of the items that could want an action: what `seen` is asked about. */
  actingKeys: string[];
}

/**
 * `seen`: whether this store recorded the item's occurrence key lately. A batch whose items that could
 * want an action were all seen is most likely re-deliveries, which queue nothing: its BEGIN skips the
 * read of shareable requests, and recordBatch reads them in a round trip of their own if a group does
 * turn out to need them (a Kubernetes Event's count rising under its key).
 */
export function prepareBatch(input: readonly RecordItem[], seen: (key: string) => boolean = () => false): PreparedBatch {
  const items = input.map(clean);
  const fingerprints = [...new Set(items.map((i) => i.fingerprint))];
  const pairs = new Map(items.map((i) => [keyId(i.fingerprint, i.signal.occurrenceKey), i] as const));
  const pairCols = columns([...pairs.values()], (i) => [i.fingerprint, i.signal.occurrenceKey]) as string[][];
  const begin = `${lockStatement(fingerprints)}; ${readStatement(fingerprints, pairCols[0] ?? [], pairCols[1] ?? [])}`;
  const acting = items.filter(mayWantRemediation);
  const actingKeys = acting.map((i) => keyId(i.fingerprint, i.signal.occurrenceKey));
  if (actingKeys.every(seen)) return { items, begin, shares: false, actingKeys };
  const shared = sharedStatement(acting.map((i) => text(i.signal.pod)), acting.map((i) => text(i.signal.namespace)));
  return { items, begin: `${begin}; ${shared}`, shares: true, actingKeys };
}

type ReadRow = { t: 'g' | 'k'; id: number; fingerprint: string; status: GroupStatus; resolved_at: number | null;
  expires_at: number | null; priority: ExistingGroup['priority']; key: string; seen_count: number };

/** The batch's groups that exist and the occurrence keys already seen: the read's rows from BEGIN's round trip. */
function readExisting(rows: readonly ReadRow[]) {
  const existing = new Map<string, ExistingGroup>();
  const known = new Map<string, KnownOccurrence>();
  for (const r of rows) {
    if (r.t === 'g') {
      existing.set(r.fingerprint, { id: r.id, fingerprint: r.fingerprint, status: r.status, resolved_at: r.resolved_at, expires_at: r.expires_at, priority: r.priority });
    } else {
      known.set(keyId(r.fingerprint, r.key), { seenCount: r.seen_count, state: r.status });
    }
  }
  return { existing, known };
}

/** Records a prepared batch in a transaction that began with its `begin` statements (tx.begun). */
export async function recordBatch(tx: Tx, ctx: RecordContext, batch: PreparedBatch): Promise<RecordResult[]> {
  const { items } = batch;
  if (items.length === 0) return [];
  const read = tx.begun?.at(batch.shares ? -2 : -1);
  if (!read) throw new Error('recordBatch: the transaction did not begin with the batch\'s read');
  const { existing, known } = readExisting(read.rows as ReadRow[]);

  const plan = planBatch(items, existing, known);
  const wants = plan.decisions.map((d, i) => wantsRemediation(items[i], d));

  const requests = await queueRequests(tx, items, wants, existing, batch.shares ? tx.begun!.at(-1)!.rows as SharedRow[] : null);
  const { retarget, fresh } = requests;

  const occurring = items.flatMap((item, i) => (plan.decisions[i].countDelta > 0 ? [i] : []));
  const minutes = new Map<number, number>();
  for (const i of occurring) {
    const minute = Math.floor(items[i].receivedAt / 60_000);
    minutes.set(minute, (minutes.get(minute) ?? 0) + plan.decisions[i].countDelta);
  }
  const changeIndex = new Map(plan.changes.map((c, i) => [c.fingerprint, i] as const));
  const events = ctx.notify ? eventsForChanges(plan.changes, existing, (fp) => changeIndex.get(fp)!) : [];
  // Every parameter goes as a binary array (binary-array.ts), not as a JS array for pg to convert. Each
  // group's kinds give its columns' element types, as WRITE casts them: text, bigint or int.
  const params = [
    ...binaryColumns(columns(plan.changes, (c) => {
      const { signal: s, classification: cls } = c.latest;
      return [c.fingerprint, s.alertFingerprint === null ? null : text(s.alertFingerprint), text(s.source),
        text(cls.priority), cls.rule === null ? null : text(cls.rule), c.status, text(s.title), text(s.message),
        text(s.namespace), text(s.pod), text(s.container), text(c.latest.workload), JSON.stringify(s.labels),
        c.countDelta, c.firstSeen, c.lastSeen, c.resolvedAt, c.expiresAt, JSON.stringify(cls.reason),
        cls.remediation?.action ?? null];
    }), 'tttttttttttttbbbbbtt'),
    ...binaryColumns(columns(events, (e) => [plan.changes[e.groupId].fingerprint, e.kind, ms(e.at), text(JSON.stringify(e.detail))]), 'ttbt'),
    ...binaryColumns(columns(plan.keys, (k) => [k.fingerprint, k.key, k.seenCount, k.state, k.lastSeen]), 'ttbtb'),
    ...binaryColumns(columns(occurring, (i) => {
      const { signal: s, receivedAt, fingerprint } = items[i];
      return [fingerprint, receivedAt, text(s.channel), text(s.message), plan.decisions[i].countDelta, JSON.stringify(s.labels)];
    }), 'tbttbt'),
    binaryArray([...minutes.keys()], 'b'), binaryArray([...minutes.values()], 'b'),
    ...binaryColumns(columns(retarget, (r) => [r.id, ...r.target]), 'btttbtttt'),
    ...binaryColumns(columns(fresh, (f) => [f.fingerprint, ...f.target, f.dueAt]), 'ttttbttttb'),
    binaryArray(retarget.map((r) => (r.shared ? 1 : 0)), 'i'), binaryArray(fresh.map((f) => (f.shared ? 1 : 0)), 'i'), binaryArray(requests.nowShared, 'b'),
  ];
  const groups = new Map<string, { id: number; count: number }>();
  const created = new Map<number, number>();
  type WriteRow = { t: 'g' | 'r'; id: number; fingerprint: string | null; count: number };
  for (const r of (await tx.query<WriteRow>({ name: 'ks_record_write', text: WRITE, values: params })).rows) {
    if (r.t === 'g') groups.set(r.fingerprint!, { id: r.id, count: r.count });
    else created.set(r.count, r.id); // 'r' rows carry the group id in the count column
  }
  const groupId = (fingerprint: string): number => groups.get(fingerprint)!.id;

  // Rows never outnumber the count, so only groups that gained rows past the cap need trimming.
  const full = [...new Set(occurring.map((i) => items[i].fingerprint))]
    .map((fp) => groups.get(fp)!).filter((g) => g.count > ctx.maxOccurrences).map((g) => g.id);
  if (full.length > 0) await tx.query(TRIM_OCCURRENCES, [full, ctx.maxOccurrences]);

  const results: RecordResult[] = items.map((item, i) => {
    const d = plan.decisions[i];
    const id = groupId(item.fingerprint);
    return { groupId: id, outcome: d.outcome, countDelta: d.countDelta, remediationRequestId: wants[i] ? requestIdOf(requests, item.fingerprint, (fp) => created.get(groupId(fp))!) : null };
  });

  const changed = [...new Set(results.filter((r) => r.outcome !== 'stale').map((r) => r.groupId))];
  const wanted = wants.includes(true);
  if (changed.length > 0 || wanted) {
    await notifyAtCommit(tx, ctx.origin, { groupIds: changed, remediationQueued: wanted });
  }
  return results;
}
