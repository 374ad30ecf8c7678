// The notification outbox on PostgreSQL (src/store/outbox.ts has the contract and the why). Claims use
// SKIP LOCKED like remediation requests: an old and a new leader overlapping never send one delivery
// at the same time; only a receiver's oldest unfinished delivery is eligible (per-receiver FIFO), and planning is conditional on the events still being unplanned.
import type { Pool } from 'pg';
import type {
  Delivery, DeliveryQuery, DeliveryResult, DeliveryRow, EventRow, MarkRow, NewNotificationEvent, NotificationEvent,
  OutboxPlan, OutboxState, OutboxStateQuery,
} from '../outbox.ts';
import { DELIVERY_COLUMNS, pairKey, toDelivery, toEvent, toMark } from '../outbox.ts';
import { GROUP_COLUMNS, type GroupRow, toGroup } from '../rows.ts';
import type { ErrorGroup } from '../types.ts';
import { ms, text } from './sanitize.ts';
import { one, rows, type Tx } from './session.ts';

/** Called inside the transaction of the change that causes the events. */
export async function insertEvents(tx: Tx, events: readonly NewNotificationEvent[]): Promise<void> {
  if (events.length === 0) return;
  await tx.query(`INSERT INTO notification_events (group_id, kind, at, detail)
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[])`, [
    events.map((e) => e.groupId), events.map((e) => e.kind), events.map((e) => ms(e.at)),
    events.map((e) => text(JSON.stringify(e.detail))),
  ]);
}

export async function pendingEvents(pool: Pool, limit: number): Promise<NotificationEvent[]> {
  return (await rows<EventRow>(pool, `SELECT id, group_id, kind, at, detail FROM notification_events
    WHERE planned_at IS NULL ORDER BY id LIMIT $1`, [limit])).map(toEvent);
}

export async function groupsByIds(pool: Pool, ids: number[]): Promise<ErrorGroup[]> {
  if (ids.length === 0) return [];
  return (await rows<GroupRow>(pool, `SELECT ${GROUP_COLUMNS} FROM error_groups WHERE id = ANY($1::bigint[]) ORDER BY id`, [ids]))
    .map(toGroup);
}

export async function outboxState(pool: Pool, q: OutboxStateQuery): Promise<OutboxState> {
  const detailedSince: Record<string, number> = {};
  if (q.pairs.length > 0) {
    const sums = await rows<{ route: string; receiver: string; n: number }>(pool, `SELECT u.route, u.receiver,
        (SELECT coalesce(sum(detailed), 0) FROM notification_deliveries d
          WHERE d.route = u.route AND d.receiver = u.receiver AND d.created_at >= $3) AS n
      FROM unnest($1::text[], $2::text[]) AS u(route, receiver)`,
    [q.pairs.map((p) => text(p.route)), q.pairs.map((p) => text(p.receiver)), ms(q.since)]);
    for (const s of sums) detailedSince[pairKey(s.route, s.receiver)] = s.n;
  }
  const marks = q.groupIds.length === 0 ? [] : (await rows<MarkRow>(pool, `SELECT receiver, group_id, kind, priority, at, repeat_at
    FROM notification_marks WHERE group_id = ANY($1::bigint[])`, [q.groupIds])).map(toMark);
  return { detailedSince, marks };
}

export async function planNotifications(tx: Tx, plan: OutboxPlan, now: number): Promise<boolean> {
  // FOR UPDATE: a second planner blocks here until we commit, then sees planned_at set and gives up.
  const locked = await rows<{ id: number }>(tx, `SELECT id FROM notification_events
    WHERE id = ANY($1::bigint[]) AND planned_at IS NULL ORDER BY id FOR UPDATE`, [plan.eventIds]);
  if (locked.length !== plan.eventIds.length) return false;
  await tx.query('UPDATE notification_events SET planned_at = $1 WHERE id = ANY($2::bigint[])', [ms(now), plan.eventIds]);
  for (const d of plan.deliveries) {
    const { id } = (await one<{ id: number }>(tx, `INSERT INTO notification_deliveries (route, receiver, kind, group_ids,
        message, detailed, suppressed, created_at, state, attempts, next_attempt_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9) RETURNING id`, [text(d.route), text(d.receiver), d.kind,
      JSON.stringify(d.groupIds), text(JSON.stringify(d.message)), d.detailed, d.suppressed, ms(d.createdAt), ms(d.notBefore)]))!;
    if (d.groupIds.length > 0) {
      await tx.query(`INSERT INTO notification_delivery_groups (group_id, delivery_id)
        SELECT DISTINCT g, $2::bigint FROM unnest($1::bigint[]) AS g ON CONFLICT DO NOTHING`, [d.groupIds, id]);
    }
  }
  if (plan.marks.length > 0) {
    await tx.query(`INSERT INTO notification_marks AS m (receiver, group_id, kind, priority, at, repeat_at)
      SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
      ON CONFLICT (receiver, group_id) DO UPDATE SET kind = excluded.kind, priority = excluded.priority,
        at = excluded.at, repeat_at = excluded.repeat_at`, [
      plan.marks.map((m) => text(m.receiver)), plan.marks.map((m) => m.groupId), plan.marks.map((m) => m.kind),
      plan.marks.map((m) => m.priority), plan.marks.map((m) => ms(m.at)), plan.marks.map((m) => (m.repeatAt === null ? null : ms(m.repeatAt))),
    ]);
  }
  return true;
}

export async function enqueueRepeats(tx: Tx, now: number): Promise<number> {
  const due = await rows<{ group_id: number; firing: boolean }>(tx, `UPDATE notification_marks m SET repeat_at = NULL
    FROM error_groups g WHERE g.id = m.group_id AND m.repeat_at IS NOT NULL AND m.repeat_at <= $1
    RETURNING m.group_id, (m.kind = 'firing' AND g.status = 'firing') AS firing`, [ms(now)]);
  // Marks of pruned groups have no row to join; they are consumed by prune.
  const groups = [...new Set(due.filter((d) => d.firing).map((d) => d.group_id))];
  await insertEvents(tx, groups.map((groupId) => ({ groupId, kind: 'firing', at: now, detail: { reason: 'repeat' } })));
  return groups.length;
}

const CLAIM = `UPDATE notification_deliveries
  SET state = 'sending', claimed_by = $1, claimed_until = $2::bigint + $3::bigint, attempts = attempts + 1
  WHERE id = (SELECT d.id FROM notification_deliveries d
    WHERE ((d.state = 'pending' AND d.next_attempt_at <= $2) OR (d.state = 'sending' AND d.claimed_until < $2))
      AND NOT EXISTS (SELECT 1 FROM notification_deliveries o
        WHERE o.receiver = d.receiver AND o.id < d.id AND o.state IN ('pending', 'sending'))
    ORDER BY d.id LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING ${DELIVERY_COLUMNS}`;

export async function claimDelivery(pool: Pool, holder: string, now: number, claimMs: number): Promise<Delivery | null> {
  const row = await one<DeliveryRow>(pool, CLAIM, [text(holder), ms(now), ms(claimMs)]);
  return row ? toDelivery(row) : null;
}

export async function releaseDeliveryClaims(pool: Pool, holder: string): Promise<number> {
  const res = await pool.query(`UPDATE notification_deliveries SET state = 'pending', claimed_by = NULL, claimed_until = NULL
    WHERE state = 'sending' AND claimed_by <> $1`, [text(holder)]);
  return res.rowCount ?? 0;
}

export async function finishDelivery(pool: Pool, id: number, holder: string, r: DeliveryResult): Promise<boolean> {
  const res = r.state === 'sent'
    ? await pool.query(`UPDATE notification_deliveries SET state = 'sent', sent_at = $1, claimed_until = NULL, last_error = NULL
        WHERE id = $2 AND state = 'sending' AND claimed_by = $3`, [ms(r.at), id, text(holder)])
    : r.state === 'failed'
      ? await pool.query(`UPDATE notification_deliveries SET state = 'failed', last_error = $1, claimed_until = NULL
          WHERE id = $2 AND state = 'sending' AND claimed_by = $3`, [text(r.error), id, text(holder)])
      : await pool.query(`UPDATE notification_deliveries SET state = 'pending', next_attempt_at = $1, last_error = $2,
          claimed_by = NULL, claimed_until = NULL WHERE id = $3 AND state = 'sending' AND claimed_by = $4`,
      [ms(r.nextAttemptAt), text(r.error), id, text(holder)]);
  return res.rowCount === 1;
}

export async function listDeliveries(pool: Pool, q: DeliveryQuery): Promise<{ deliveries: Delivery[]; total: number }> {
  const terms: string[] = [];
  const params: unknown[] = [];
  if (q.groupId !== undefined) terms.push(`id IN (SELECT delivery_id FROM notification_delivery_groups WHERE group_id = $${params.push(q.groupId)})`);
  if (q.receiver !== undefined) terms.push(`receiver = $${params.push(text(q.receiver))}`);
  if (q.state !== undefined) terms.push(`state = $${params.push(q.state)}`);
  const w = terms.length ? `WHERE ${terms.join(' AND ')}` : '';
  const pageSize = Number.isInteger(q.pageSize) && q.pageSize >= 1 ? q.pageSize : 50;
  const offset = ((Number.isInteger(q.page) && q.page >= 1 ? q.page : 1) - 1) * pageSize;
  const [count, page] = await Promise.all([
    one<{ n: number }>(pool, `SELECT count(*) AS n FROM notification_deliveries ${w}`, params),
    rows<DeliveryRow>(pool, `SELECT ${DELIVERY_COLUMNS} FROM notification_deliveries ${w}
      ORDER BY created_at DESC, id DESC LIMIT ${pageSize} OFFSET ${offset}`, params),
  ]);
  return { deliveries: page.map(toDelivery), total: count!.n };
}
