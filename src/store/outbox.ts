// The notification outbox (DESIGN §6b), engine-neutral half. A change that deserves a notification
// (a new or re-firing group, a priority rise, a resolution, a remediation outcome) writes a
// notification *event* in the same transaction as the change itself, so a crash can lose neither. The
// leader later turns events into *deliveries* (routing, group_wait, repeat_interval and rate limits
// are decided in src/notify) in one transaction that also marks the events planned, and sends each
// delivery with retries. Both adapters implement OutboxStore and pass one contract suite.
import type { GroupStatus, Priority } from '../domain/types.ts';
import type { ExistingGroup, GroupChange } from './plan.ts';
import type { ErrorGroup } from './types.ts';

const NOTIFY_KINDS = ['firing', 'resolved', 'escalated', 'remediation'] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];

export const DELIVERY_STATES = ['pending', 'sending', 'sent', 'failed'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** Something happened to a group that routes may want to tell someone about. */
export interface NotificationEvent {
  id: number;
  groupId: number;
  kind: NotifyKind;
  at: number;
  /** Why: `new`, `refire`, `priority-rise`, `expired`, `repeat`, or the audit outcome/reason/message. */
  detail: Record<string, string>;
}

export interface NewNotificationEvent {
  groupId: number;
  kind: NotifyKind;
  at: number;
  detail: Record<string, string>;
}

/** The last firing/resolved notification a receiver got for a group (repeat_interval, reminders). */
export interface NotificationMark {
  receiver: string;
  groupId: number;
  kind: NotifyKind;
  priority: Priority;
  at: number;
  /** When a still-firing group is due for a reminder; null = none planned. */
  repeatAt: number | null;
}

export interface NewDelivery {
  route: string;
  receiver: string;
  kind: NotifyKind;
  groupIds: number[];
  /** The receiver-neutral message (src/notify/message.ts), rendered per receiver at send time. */
  message: unknown;
  /** Groups shown in detail (counted by the rate limit) and groups only counted in the summary. */
  detailed: number;
  suppressed: number;
  createdAt: number;
  /** Sending may start at this time. */
  notBefore: number;
}

export interface Delivery extends Omit<NewDelivery, 'notBefore'> {
  id: number;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: number;
  claimedBy: string | null;
  claimedUntil: number | null;
  sentAt: number | null;
  lastError: string | null;
}

export type DeliveryResult =
  | { state: 'sent'; at: number }
  | { state: 'failed'; error: string }
  | { state: 'pending'; nextAttemptAt: number; error: string };

export interface DeliveryQuery {
  groupId?: number;
  receiver?: string;
  state?: DeliveryState;
  page: number;
  pageSize: number;
}

/** What the planner needs to know about the past to decide repeat_interval and rate limits. */
export interface OutboxStateQuery {
  /** `route\u0000receiver` pairs whose detailed groups since `since` are summed. */
  pairs: Array<{ route: string; receiver: string }>;
  since: number;
  groupIds: number[];
}

export interface OutboxState {
  /** Detailed groups per pair, key `route\u0000receiver`. */
  detailedSince: Record<string, number>;
  marks: NotificationMark[];
}

export interface OutboxPlan {
  eventIds: number[];
  deliveries: NewDelivery[];
  marks: NotificationMark[];
}

export interface OutboxStore {
  /** Events not planned yet, oldest first. */
  pendingNotificationEvents(limit: number): Promise<NotificationEvent[]>;
  /** The groups events point at (pruned ones are simply absent). */
  groupsByIds(ids: number[]): Promise<ErrorGroup[]>;
  outboxState(query: OutboxStateQuery): Promise<OutboxState>;
  /**
   * One transaction: mark the events planned, insert the deliveries, upsert the marks. Returns false
   * (and writes nothing) when any event was planned meanwhile, so two overlapping leaders never both
   * turn one event into deliveries.
   */
  planNotifications(plan: OutboxPlan, now: number): Promise<boolean>;
  /** Queue a `repeat` firing event for every mark whose reminder is due while its group still fires. */
  enqueueRepeats(now: number): Promise<number>;
  /** Atomically claim the oldest due delivery (pending, or sending with an expired claim). */
  claimDelivery(holder: string, now: number, claimMs: number): Promise<Delivery | null>;
  /**
   * A new leader takes over deliveries other holders left mid-send (they lost the Lease, or died): sent
   * again at once with the same delivery id and dedup_key, instead of after their claim. Returns how many.
   */
  releaseDeliveryClaims(holder: string): Promise<number>;
  /** Only the current claim holder may finish; returns false otherwise. */
  finishDelivery(id: number, holder: string, result: DeliveryResult): Promise<boolean>;
  listDeliveries(query: DeliveryQuery): Promise<{ deliveries: Delivery[]; total: number }>;
}

export const pairKey = (route: string, receiver: string): string => `${route}\u0000${receiver}`;

const RANK: Record<string, number> = { P1: 1, P2: 2, P3: 3, P4: 4 };

/** What the group was before the batch, as far as notifications care. */
interface PriorGroup {
  status: GroupStatus;
  priority?: Priority | null;
}

/**
 * Pure: the event (if any) a group change deserves. A brand-new firing group, a resolved group firing
 * again and a firing group whose priority rose are `firing`; a firing group that resolved is
 * `resolved`. Re-deliveries change nothing here, so they never notify.
 */
function eventForChange(prior: PriorGroup | undefined, next: { status: GroupStatus; priority: Priority }): { kind: NotifyKind; detail: Record<string, string> } | null {
  if (!prior) return next.status === 'firing' ? { kind: 'firing', detail: { reason: 'new' } } : null;
  if (prior.status === 'resolved' && next.status === 'firing') return { kind: 'firing', detail: { reason: 'refire' } };
  if (prior.status === 'firing' && next.status === 'resolved') return { kind: 'resolved', detail: { reason: 'resolved' } };
  if (prior.status === 'firing' && next.status === 'firing' && prior.priority && RANK[next.priority] < RANK[prior.priority]) {
    return { kind: 'firing', detail: { reason: 'priority-rise', from: prior.priority } };
  }
  return null;
}

/** Pure: the events one record() batch writes, given what its groups were before and their ids now. */
export function eventsForChanges(
  changes: readonly GroupChange[], existing: ReadonlyMap<string, ExistingGroup>, idOf: (fingerprint: string) => number,
): NewNotificationEvent[] {
  const out: NewNotificationEvent[] = [];
  for (const c of changes) {
    const e = eventForChange(existing.get(c.fingerprint), { status: c.status, priority: c.latest.classification.priority });
    if (e) out.push({ groupId: idOf(c.fingerprint), kind: e.kind, at: c.lastSeen, detail: e.detail });
  }
  return out;
}

/** Pure: the event an audit entry deserves (remediation outcomes and escalations; not skips or dry-runs). */
export function eventForAudit(e: { groupId: number | null; outcome: string; action: string; reason: string; message: string; target: string }): { kind: NotifyKind; detail: Record<string, string> } | null {
  if (e.groupId === null || e.outcome === 'skipped' || e.outcome === 'dry-run') return null;
  return {
    kind: e.outcome === 'escalated' ? 'escalated' : 'remediation',
    detail: { outcome: e.outcome, action: e.action, reason: e.reason, message: e.message.slice(0, 1000), target: e.target },
  };
}

export interface DeliveryRow {
  id: number;
  route: string;
  receiver: string;
  kind: NotifyKind;
  group_ids: string;
  message: string;
  detailed: number;
  suppressed: number;
  created_at: number;
  state: DeliveryState;
  attempts: number;
  next_attempt_at: number;
  claimed_by: string | null;
  claimed_until: number | null;
  sent_at: number | null;
  last_error: string | null;
}

export const DELIVERY_COLUMNS = `id, route, receiver, kind, group_ids, message, detailed, suppressed, created_at, state,
  attempts, next_attempt_at, claimed_by, claimed_until, sent_at, last_error`;

export function toDelivery(r: DeliveryRow): Delivery {
  return {
    id: r.id, route: r.route, receiver: r.receiver, kind: r.kind,
    groupIds: JSON.parse(r.group_ids) as number[], message: JSON.parse(r.message) as unknown,
    detailed: r.detailed, suppressed: r.suppressed, createdAt: r.created_at, state: r.state, attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at, claimedBy: r.claimed_by, claimedUntil: r.claimed_until, sentAt: r.sent_at,
    lastError: r.last_error,
  };
}

export interface EventRow {
  id: number;
  group_id: number;
  kind: NotifyKind;
  at: number;
  detail: string;
}

export const toEvent = (r: EventRow): NotificationEvent => ({
  id: r.id, groupId: r.group_id, kind: r.kind, at: r.at, detail: JSON.parse(r.detail) as Record<string, string>,
});

export interface MarkRow {
  receiver: string;
  group_id: number;
  kind: NotifyKind;
  priority: Priority;
  at: number;
  repeat_at: number | null;
}

export const toMark = (r: MarkRow): NotificationMark => ({
  receiver: r.receiver, groupId: r.group_id, kind: r.kind, priority: r.priority, at: r.at, repeatAt: r.repeat_at,
});
