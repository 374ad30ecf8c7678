// The notification outbox on SQLite (src/store/outbox.ts has the contract and the why).
import type {
  Delivery, DeliveryQuery, DeliveryResult, DeliveryRow, EventRow, MarkRow, NewNotificationEvent, NotificationEvent,
  OutboxPlan, OutboxState, OutboxStateQuery,
} from '../outbox.ts';
import { DELIVERY_COLUMNS, pairKey, toDelivery, toEvent, toMark } from '../outbox.ts';
import { GROUP_COLUMNS, type GroupRow, toGroup } from '../rows.ts';
import type { ErrorGroup } from '../types.ts';
import { bulk } from './bulk.ts';
import type { Statements } from './statements.ts';
import { all, one } from './statements.ts';

const INSERT_EVENTS = (values: string): string => `INSERT INTO notification_events (group_id, kind, at, detail) VALUES ${values}`;

/**
 * Called inside the transaction of the change that causes the events. Multi-row, in order (ids follow
 * the events): with notifications configured every new group of a batch has one (issue #12: a
 * statement per event was 1.3 ms of a 500-alert commit).
 */
export function insertEvents(stmts: Statements, events: readonly NewNotificationEvent[]): void {
  bulk(stmts, INSERT_EVENTS, events.map((e) => [e.groupId, e.kind, e.at, JSON.stringify(e.detail)]));
}

export function pendingEvents(stmts: Statements, limit: number): NotificationEvent[] {
  return all<EventRow>(stmts.get(`SELECT id, group_id, kind, at, detail FROM notification_events
    WHERE planned_at IS NULL ORDER BY id LIMIT ?`), limit).map(toEvent);
}

export function groupsByIds(stmts: Statements, ids: number[]): ErrorGroup[] {
  if (ids.length === 0) return [];
  return all<GroupRow>(stmts.get(`SELECT ${GROUP_COLUMNS} FROM error_groups
    WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id`), JSON.stringify(ids)).map(toGroup);
}

export function outboxState(stmts: Statements, q: OutboxStateQuery): OutboxState {
  const detailedSince: Record<string, number> = {};
  const sum = stmts.get(`SELECT coalesce(sum(detailed), 0) AS n FROM notification_deliveries
    WHERE route = ? AND receiver = ? AND created_at >= ?`);
  for (const p of q.pairs) detailedSince[pairKey(p.route, p.receiver)] = (sum.get(p.route, p.receiver, q.since) as { n: number }).n;
  const marks = q.groupIds.length === 0 ? [] : all<MarkRow>(stmts.get(`SELECT receiver, group_id, kind, priority, at, repeat_at
    FROM notification_marks WHERE group_id IN (SELECT value FROM json_each(?))`), JSON.stringify(q.groupIds)).map(toMark);
  return { detailedSince, marks };
}

/** Thrown inside the transaction to roll it back; never escapes planNotifications. */
class PlanConflict extends Error {}

function planInTransaction(stmts: Statements, plan: OutboxPlan, now: number): boolean {
  return stmts.transaction(() => {
    const ids = JSON.stringify(plan.eventIds);
    const marked = Number(stmts.get(`UPDATE notification_events SET planned_at = ?
      WHERE planned_at IS NULL AND id IN (SELECT value FROM json_each(?))`).run(now, ids).changes);
    // Someone else planned part of this batch: undo ours by throwing, they own those events.
    if (marked !== plan.eventIds.length) throw new PlanConflict();
    const insert = stmts.get(`INSERT INTO notification_deliveries (route, receiver, kind, group_ids, message, detailed,
        suppressed, created_at, state, attempts, next_attempt_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?) RETURNING id`);
    const link = stmts.get('INSERT OR IGNORE INTO notification_delivery_groups (group_id, delivery_id) VALUES (?, ?)');
    for (const d of plan.deliveries) {
      const { id } = insert.get(d.route, d.receiver, d.kind, JSON.stringify(d.groupIds), JSON.stringify(d.message),
        d.detailed, d.suppressed, d.createdAt, d.notBefore) as { id: number };
      for (const g of d.groupIds) link.run(g, id);
    }
    const mark = stmts.get(`INSERT INTO notification_marks (receiver, group_id, kind, priority, at, repeat_at)
      VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (receiver, group_id) DO UPDATE SET kind = excluded.kind,
        priority = excluded.priority, at = excluded.at, repeat_at = excluded.repeat_at`);
    for (const m of plan.marks) mark.run(m.receiver, m.groupId, m.kind, m.priority, m.at, m.repeatAt);
    return true;
  });
}

export function planNotifications(stmts: Statements, plan: OutboxPlan, now: number): boolean {
  try {
    return planInTransaction(stmts, plan, now);
  } catch (err) {
    if (err instanceof PlanConflict) return false;
    throw err;
  }
}

export function enqueueRepeats(stmts: Statements, now: number): number {
  return stmts.transaction(() => {
    // One event per group even when several receivers are due; the planner decides per receiver.
    const n = Number(stmts.get(`INSERT INTO notification_events (group_id, kind, at, detail)
      SELECT DISTINCT m.group_id, 'firing', ?1, '{"reason":"repeat"}' FROM notification_marks m
      JOIN error_groups g ON g.id = m.group_id
      WHERE m.repeat_at IS NOT NULL AND m.repeat_at <= ?1 AND m.kind = 'firing' AND g.status = 'firing'`).run(now).changes);
    // Due marks are consumed either way: a resolved group needs no reminder, a firing one got its event.
    stmts.get('UPDATE notification_marks SET repeat_at = NULL WHERE repeat_at IS NOT NULL AND repeat_at <= ?').run(now);
    return n;
  });
}

// Per-receiver FIFO: only a receiver's oldest unfinished delivery is eligible, so a resolve can never
// overtake the firing message it follows while that one waits for a retry.
const CLAIM = `UPDATE notification_deliveries
  SET state = 'sending', claimed_by = ?1, claimed_until = ?2 + ?3, attempts = attempts + 1
  WHERE id = (SELECT d.id FROM notification_deliveries d
    WHERE ((d.state = 'pending' AND d.next_attempt_at <= ?2) OR (d.state = 'sending' AND d.claimed_until < ?2))
      AND NOT EXISTS (SELECT 1 FROM notification_deliveries o
        WHERE o.receiver = d.receiver AND o.id < d.id AND o.state IN ('pending', 'sending'))
    ORDER BY d.id LIMIT 1)
  RETURNING ${DELIVERY_COLUMNS}`;

export function claimDelivery(stmts: Statements, holder: string, now: number, claimMs: number): Delivery | null {
  const row = one<DeliveryRow>(stmts.get(CLAIM), holder, now, claimMs);
  return row ? toDelivery(row) : null;
}

export function releaseDeliveryClaims(stmts: Statements, holder: string): number {
  return Number(stmts.get(`UPDATE notification_deliveries SET state = 'pending', claimed_by = NULL, claimed_until = NULL
    WHERE state = 'sending' AND claimed_by <> ?`).run(holder).changes);
}

export function finishDelivery(stmts: Statements, id: number, holder: string, r: DeliveryResult): boolean {
  const guard = "WHERE id = ? AND state = 'sending' AND claimed_by = ?";
  const changes = r.state === 'sent'
    ? stmts.get(`UPDATE notification_deliveries SET state = 'sent', sent_at = ?, claimed_until = NULL, last_error = NULL ${guard}`)
      .run(r.at, id, holder).changes
    : r.state === 'failed'
      ? stmts.get(`UPDATE notification_deliveries SET state = 'failed', last_error = ?, claimed_until = NULL ${guard}`)
        .run(r.error, id, holder).changes
      : stmts.get(`UPDATE notification_deliveries SET state = 'pending', next_attempt_at = ?, last_error = ?,
          claimed_by = NULL, claimed_until = NULL ${guard}`).run(r.nextAttemptAt, r.error, id, holder).changes;
  return Number(changes) === 1;
}

export function listDeliveries(stmts: Statements, q: DeliveryQuery): { deliveries: Delivery[]; total: number } {
  const terms: string[] = [];
  const params: Array<string | number> = [];
  if (q.groupId !== undefined) {
    terms.push('id IN (SELECT delivery_id FROM notification_delivery_groups WHERE group_id = ?)');
    params.push(q.groupId);
  }
  if (q.receiver !== undefined) { terms.push('receiver = ?'); params.push(q.receiver); }
  if (q.state !== undefined) { terms.push('state = ?'); params.push(q.state); }
  const w = terms.length ? `WHERE ${terms.join(' AND ')}` : '';
  const pageSize = Number.isInteger(q.pageSize) && q.pageSize >= 1 ? q.pageSize : 50;
  const offset = ((Number.isInteger(q.page) && q.page >= 1 ? q.page : 1) - 1) * pageSize;
  const total = one<{ n: number }>(stmts.get(`SELECT count(*) AS n FROM notification_deliveries ${w}`), ...params)!.n;
  const rows = total === 0 ? [] : all<DeliveryRow>(stmts.get(`SELECT ${DELIVERY_COLUMNS} FROM notification_deliveries ${w}
    ORDER BY created_at DESC, id DESC LIMIT ${pageSize} OFFSET ${offset}`), ...params);
  return { deliveries: rows.map(toDelivery), total };
}
