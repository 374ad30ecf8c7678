// Pure planning: which events become which deliveries. group_wait picks the batch, routes pick the
// receivers, repeat_interval drops repeats, and a per-(route, receiver) rate limit keeps a storm to a
// bounded number of detailed groups plus a counted summary. Every dropped (event, receiver) pair has
// a named reason, which the notifier counts in metrics.
import type { Priority } from '../domain/types.ts';
import type { NotificationEvent, NotificationMark, NotifyKind, OutboxPlan, OutboxState } from '../store/outbox.ts';
import { pairKey } from '../store/outbox.ts';
import type { ErrorGroup } from '../store/types.ts';
import { emptyByPriority, snapshot, type NotificationMessage } from './message.ts';
import type { CompiledRoute } from './routing.ts';

const RANK: Record<Priority, number> = { P1: 1, P2: 2, P3: 3, P4: 4 };
const KIND_ORDER: Record<NotifyKind, number> = { firing: 0, escalated: 1, remediation: 2, resolved: 3 };

const SKIP_REASONS = ['group-gone', 'no-route', 'repeat-interval', 'never-notified', 'rate-limited'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export interface PlanOptions {
  groupWaitMs: number;
  rateLimit: { max: number; windowMs: number };
  externalUrl?: string;
}

/**
 * Pure: which pending events form the next batch. The window opens at the oldest event; until it has
 * been open group_wait, nothing goes out (so a burst becomes one message), then everything that
 * arrived within it does.
 */
export function pickBatch(events: readonly NotificationEvent[], now: number, groupWaitMs: number):
  { batch: NotificationEvent[]; waitMs: number } {
  if (events.length === 0) return { batch: [], waitMs: Infinity };
  const opened = Math.min(...events.map((e) => e.at));
  const closes = opened + groupWaitMs;
  if (now < closes) return { batch: [], waitMs: closes - now };
  return { batch: events.filter((e) => e.at <= closes), waitMs: 0 };
}

/**
 * Pure: does a receiver's last notification about a group make this one a repeat? Firing repeats
 * within repeat_interval are dropped unless the priority rose; a resolve needs an earlier firing
 * message (receivers never told about a group need not hear it ended) and is sent once.
 */
export function repeatVerdict(mark: NotificationMark | undefined, kind: NotifyKind, priority: Priority, now: number, repeatMs: number): SkipReason | null {
  if (kind === 'firing') {
    if (mark && mark.kind === 'firing' && now - mark.at < repeatMs && RANK[priority] >= RANK[mark.priority]) return 'repeat-interval';
    return null;
  }
  if (kind === 'resolved') {
    if (!mark) return 'never-notified';
    if (mark.kind === 'resolved') return 'repeat-interval';
    return null;
  }
  return null;
}

export interface Skip {
  eventId: number;
  groupId: number;
  receiver: string | null;
  reason: SkipReason;
}

interface Bucket {
  route: CompiledRoute;
  receiver: string;
  kind: NotifyKind;
  entries: Array<{ group: ErrorGroup; event: NotificationEvent }>;
}

type PlanInput = {
  batch: readonly NotificationEvent[];
  groups: ReadonlyMap<number, ErrorGroup>;
  routes: readonly CompiledRoute[];
  state: OutboxState;
  now: number;
  options: PlanOptions;
};

/** Pure: with no route configured, a batch is consumed with every event skipped as `no-route`. */
export function unrouted(batch: readonly NotificationEvent[]): { plan: OutboxPlan; skips: Skip[] } {
  return {
    plan: { eventIds: batch.map((e) => e.id), deliveries: [], marks: [] },
    skips: batch.map((e) => ({ eventId: e.id, groupId: e.groupId, receiver: null, reason: 'no-route' })),
  };
}

/** Pure: the deliveries and marks for one batch, and every skipped (event, receiver) with its reason. */
export function planBatch(input: PlanInput): { plan: OutboxPlan; skips: Skip[] } {
  const skips: Skip[] = [];
  const buckets = route(latestEvents(input.batch, input.groups), input, skips);
  return { plan: render(buckets, input, skips), skips };
}

/**
 * Several events for one group and kind in a batch (a crash loop re-firing) are one notification; the
 * latest detail wins. A group that both fired and resolved within the window keeps only the kind it
 * ends in (a flap shorter than group_wait tells nobody anything, as in Alertmanager).
 */
function latestEvents(batch: readonly NotificationEvent[], groups: ReadonlyMap<number, ErrorGroup>): NotificationEvent[] {
  const latest = new Map<string, NotificationEvent>();
  for (const e of batch) latest.set(`${e.groupId}|${e.kind}`, e);
  for (const e of [...latest.values()]) {
    const g = groups.get(e.groupId);
    const other = e.kind === 'firing' ? 'resolved' : e.kind === 'resolved' ? 'firing' : null;
    if (g && other && latest.has(`${e.groupId}|${other}`) && g.status !== e.kind) latest.delete(`${e.groupId}|${e.kind}`);
  }
  return [...latest.values()];
}

/** Each event to every receiver of every matching route, once per receiver, in buckets by (route, receiver, kind). */
function route(events: NotificationEvent[], input: PlanInput, skips: Skip[]): Map<string, Bucket> {
  const marks = new Map(input.state.marks.map((m) => [`${m.receiver}|${m.groupId}`, m]));
  const buckets = new Map<string, Bucket>();
  const told = new Set<string>();
  for (const event of events) {
    const group = input.groups.get(event.groupId);
    if (!group) { skips.push({ eventId: event.id, groupId: event.groupId, receiver: null, reason: 'group-gone' }); continue; }
    const matching = input.routes.filter((r) => r.on.includes(event.kind) && r.matches(group));
    if (matching.length === 0) skips.push({ eventId: event.id, groupId: group.id, receiver: null, reason: 'no-route' });
    for (const r of matching) {
      for (const receiver of r.receivers) {
        // Every matching route notifies, but a receiver hears about a group once per message.
        const once = `${receiver}|${group.id}|${event.kind}`;
        if (told.has(once)) continue;
        told.add(once);
        const verdict = repeatVerdict(marks.get(`${receiver}|${group.id}`), event.kind, group.priority, input.now, r.repeatMs);
        if (verdict) { skips.push({ eventId: event.id, groupId: group.id, receiver, reason: verdict }); continue; }
        const key = `${pairKey(r.name, receiver)}\u0000${event.kind}`;
        let b = buckets.get(key);
        if (!b) buckets.set(key, b = { route: r, receiver, kind: event.kind, entries: [] });
        b.entries.push({ group, event });
      }
    }
  }
  return buckets;
}

/** One delivery per bucket: the highest priorities in detail up to the rate limit, the rest counted. */
function render(buckets: Map<string, Bucket>, input: PlanInput, skips: Skip[]): OutboxPlan {
  const { now, options } = input;
  const plan: OutboxPlan = { eventIds: input.batch.map((e) => e.id), deliveries: [], marks: [] };
  const used = new Map<string, number>();
  const marksOut = new Map<string, NotificationMark>();
  // Firing first, resolved last: deliveries to a receiver are sent in id order.
  const sorted = [...buckets.values()].sort((x, y) => KIND_ORDER[x.kind] - KIND_ORDER[y.kind]);
  for (const b of sorted) {
    const pair = pairKey(b.route.name, b.receiver);
    const spent = (input.state.detailedSince[pair] ?? 0) + (used.get(pair) ?? 0);
    const allowed = Math.max(0, options.rateLimit.max - spent);
    const ordered = [...b.entries].sort((x, y) => RANK[x.group.priority] - RANK[y.group.priority] || x.group.id - y.group.id);
    const detailed = ordered.slice(0, allowed);
    const rest = ordered.slice(allowed);
    used.set(pair, (used.get(pair) ?? 0) + detailed.length);
    const byPriority = emptyByPriority();
    for (const r of rest) {
      byPriority[r.group.priority]++;
      skips.push({ eventId: r.event.id, groupId: r.group.id, receiver: b.receiver, reason: 'rate-limited' });
    }
    const message: NotificationMessage = {
      version: 1, kind: b.kind, route: b.route.name, receiver: b.receiver, at: new Date(now).toISOString(),
      groups: detailed.map((d) => snapshot(d.group, d.event.detail, options.externalUrl)),
      suppressed: rest.length, suppressedByPriority: byPriority, repeatMs: b.route.repeatMs,
    };
    plan.deliveries.push({
      route: b.route.name, receiver: b.receiver, kind: b.kind, groupIds: ordered.map((e) => e.group.id), message,
      detailed: detailed.length, suppressed: rest.length, createdAt: now, notBefore: now,
    });
    if (b.kind !== 'firing' && b.kind !== 'resolved') continue;
    for (const d of detailed) {
      marksOut.set(`${b.receiver}|${d.group.id}`, {
        receiver: b.receiver, groupId: d.group.id, kind: b.kind, priority: d.group.priority, at: now,
        repeatAt: b.kind === 'firing' ? now + b.route.repeatMs : null,
      });
    }
  }
  plan.marks = [...marksOut.values()];
  return plan;
}
