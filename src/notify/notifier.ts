// The notification loop, run by the Lease holder only: plan pending outbox events into deliveries
// (src/notify/plan.ts), then send due deliveries with retries (src/notify/retry.ts). Every step is a
// store transaction guarded against an overlapping leader, so a restart or failover loses nothing and
// plans nothing twice; a delivery interrupted mid-send is retried once its claim expires, with the
// same delivery id and PagerDuty dedup_key, so idempotent receivers see it once.
import type { NotificationsConfig } from '../config/notifications.ts';
import { silentLogger, systemClock, wakeSleeper, type Clock, type Logger } from '../domain/ports.ts';
import type { NotificationEvent } from '../store/outbox.ts';
import type { ErrorGroup, Store } from '../store/types.ts';
import { snapshot, type NotificationMessage } from './message.ts';
import { pickBatch, planBatch, unrouted, type PlanOptions } from './plan.ts';
import { DEFAULT_RETRY, decide, type RetryPolicy } from './retry.ts';
import type { CompiledRoute } from './routing.ts';
import type { AttemptResult } from './retry.ts';

interface Deliverer {
  deliver(receiver: string, message: NotificationMessage, ctx: { deliveryId: number; now: number }): Promise<AttemptResult>;
}

/** outcome: sent | retried | failed | rate-limited | repeat-interval | never-notified | no-route | group-gone */
export type OnOutcome = (receiver: string, outcome: string, n?: number) => void;

export interface NotifierOptions {
  store: Store;
  routes: readonly CompiledRoute[];
  config: Pick<NotificationsConfig, 'group_wait' | 'max_attempts' | 'rate_limit'>;
  externalUrl?: string;
  deliverer: Deliverer;
  /** Who may send: the remediation Lease holder. */
  leader: { readonly identity: string; isLeader(): boolean };
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
  onOutcome?: OnOutcome;
  /** Longest wait between passes when nothing wakes the loop. */
  pollMs?: number;
  /** How long a claimed delivery is ours; must exceed the longest send (2 × receiver timeout per request). */
  claimMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Least time between two passes when wakes keep coming (default 200 ms). */
  minGapMs?: number;
  /** How often reminders (repeat_interval) are looked for. */
  repeatScanMs?: number;
}

/**
 * Events read per planning pass: a storm is planned in slices, each one transaction (and one summary
 * message per receiver). A slice loads its groups, a few KB each: this also bounds that memory.
 */
const EVENTS_PER_PASS = 5000;
/** Deliveries sent per pass before leadership and new events are looked at again. */
const SENDS_PER_PASS = 50;
/** Groups read from the store per call while planning (see #planRouted). */
const GROUPS_PER_READ = 500;

export class Notifier {
  readonly #o: NotifierOptions;
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #retry: RetryPolicy;
  readonly #plan: PlanOptions;
  readonly #stopping = new AbortController();
  #waker = new AbortController();
  #loop: Promise<void> | null = null;
  #nextRepeatScan = 0;
  #leading = false;

  constructor(opts: NotifierOptions) {
    this.#o = opts;
    const clock = opts.clock ?? systemClock;
    this.#now = () => clock.now();
    this.#log = opts.logger ?? silentLogger;
    this.#retry = { ...DEFAULT_RETRY, maxAttempts: opts.config.max_attempts, ...opts.retry };
    this.#plan = {
      groupWaitMs: opts.config.group_wait,
      rateLimit: { max: opts.config.rate_limit.max, windowMs: opts.config.rate_limit.window },
      externalUrl: opts.externalUrl,
    };
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  wake(): void {
    wakeSleeper(this.#waker);
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    this.wake();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const clock = this.#o.clock ?? systemClock;
    const poll = this.#o.pollMs ?? 1000;
    while (!this.#stopping.signal.aborted) {
      // Wakes up to here are covered by the pass about to run.
      if (this.#waker.signal.aborted) this.#waker = new AbortController();
      let waitMs = poll;
      try {
        const leading = this.#o.leader.isLeader();
        if (leading && !this.#leading) await this.#takeOver();
        this.#leading = leading;
        if (leading) waitMs = Math.min(poll, await this.tick());
      } catch (err) {
        this.#log.warn({ err: (err as Error).message }, 'notification pass failed; retrying');
      }
      if (this.#stopping.signal.aborted) break;
      // A wake during the pass (new events, a NOTIFY) means look again soon, not after the poll; the
      // short gap bounds the passes a busy cluster's stream of NOTIFYs can cause.
      if (this.#waker.signal.aborted) {
        await clock.sleep(this.#o.minGapMs ?? 200, this.#stopping.signal);
        continue;
      }
      if (waitMs > 0) await clock.sleep(waitMs, AbortSignal.any([this.#waker.signal, this.#stopping.signal]));
    }
  }

  /**
   * On becoming leader: deliveries an earlier holder left mid-send go out again now (same delivery id
   * and dedup_key, so idempotent receivers see them once) rather than after that holder's claim.
   */
  async #takeOver(): Promise<void> {
    const n = await this.#o.store.releaseDeliveryClaims(this.#o.leader.identity);
    if (n > 0) this.#log.warn({ deliveries: n }, 'took over deliveries another holder left mid-send');
  }

  /** One pass: reminders, planning, sending. Returns how long until planning is due again (ms). */
  async tick(): Promise<number> {
    const now = this.#now();
    if (now >= this.#nextRepeatScan) {
      this.#nextRepeatScan = now + (this.#o.repeatScanMs ?? 60_000);
      await this.#o.store.enqueueRepeats(now);
    }
    const waitMs = await this.planOnce();
    await this.sendDue();
    return waitMs;
  }

  /** Plans one batch if its group_wait has passed; returns ms until the next batch is due (0 = now). */
  async planOnce(): Promise<number> {
    const { store, routes } = this.#o;
    const now = this.#now();
    const events = await store.pendingNotificationEvents(EVENTS_PER_PASS);
    const { batch, waitMs } = pickBatch(events, now, this.#plan.groupWaitMs);
    if (batch.length === 0) return waitMs;
    // No route at all: every event is consumed as no-route without reading its group, so a storm
    // costs no memory here when nothing is configured to hear about it.
    const { plan, skips } = routes.length === 0 ? unrouted(batch) : await this.#planRouted(batch, now);
    if (!await store.planNotifications(plan, now)) {
      this.#log.warn({ events: batch.length }, 'another replica planned these notifications first');
      return 0;
    }
    const counts = new Map<string, number>();
    for (const s of skips) {
      const key = `${s.receiver ?? ''}\u0000${s.reason}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    for (const [key, n] of counts) {
      const [receiver, reason] = key.split('\u0000');
      this.#o.onOutcome?.(receiver, reason, n);
    }
    if (plan.deliveries.length > 0) {
      this.#log.info({ events: batch.length, deliveries: plan.deliveries.length }, 'notifications planned');
    }
    // More events may be waiting behind this slice (or in a later window): look again at once.
    return events.length > batch.length || events.length === EVENTS_PER_PASS ? 0 : Infinity;
  }

  /**
   * Routing reads every group of the slice but never its message, the bulk of a group: groups are read
   * GROUPS_PER_READ at a time and kept without it, and only the groups a message shows in detail (at
   * most rate_limit.max per receiver) are read again whole. A storm's slice then holds little memory.
   */
  async #planRouted(batch: NotificationEvent[], now: number): Promise<ReturnType<typeof planBatch>> {
    const { store, routes } = this.#o;
    const groupIds = [...new Set(batch.map((e) => e.groupId))];
    const groups = await this.#readGroups(groupIds, (g) => ({ ...g, message: '' }));
    const pairs = routes.flatMap((r) => r.receivers.map((receiver) => ({ route: r.name, receiver })));
    const state = await store.outboxState({ pairs, since: now - this.#plan.rateLimit.windowMs, groupIds });
    const planned = planBatch({ batch, groups, routes, state, now, options: this.#plan });
    const shown = [...new Set(planned.plan.deliveries.flatMap((d) => (d.message as NotificationMessage).groups.map((g) => g.id)))];
    const whole = await this.#readGroups(shown, (g) => g);
    for (const d of planned.plan.deliveries) {
      const m = d.message as NotificationMessage;
      m.groups = m.groups.map((s) => {
        const g = whole.get(s.id);
        return g ? snapshot(g, s.event, this.#o.externalUrl) : s;
      });
    }
    return planned;
  }

  /** Groups by id, read GROUPS_PER_READ at a time, each kept as `keep` makes it. */
  async #readGroups(ids: readonly number[], keep: (g: ErrorGroup) => ErrorGroup): Promise<Map<number, ErrorGroup>> {
    const out = new Map<number, ErrorGroup>();
    for (let i = 0; i < ids.length; i += GROUPS_PER_READ) {
      for (const g of await this.#o.store.groupsByIds(ids.slice(i, i + GROUPS_PER_READ))) out.set(g.id, keep(g));
    }
    return out;
  }

  /** Sends due deliveries while this replica leads; returns how many were attempted. */
  async sendDue(): Promise<number> {
    const { store, leader } = this.#o;
    let n = 0;
    for (; n < SENDS_PER_PASS; n++) {
      if (!leader.isLeader() || this.#stopping.signal.aborted) break;
      const d = await store.claimDelivery(leader.identity, this.#now(), this.#o.claimMs ?? 60_000);
      if (!d) break;
      const result = await this.#o.deliverer.deliver(d.receiver, d.message as NotificationMessage, { deliveryId: d.id, now: this.#now() });
      const now = this.#now();
      const verdict = decide(result, d.attempts, this.#retry, now, this.#o.random ?? Math.random);
      const log = { delivery: d.id, receiver: d.receiver, kind: d.kind, attempt: d.attempts };
      let ok: boolean;
      if (verdict.outcome === 'sent') {
        ok = await store.finishDelivery(d.id, leader.identity, { state: 'sent', at: now });
        this.#o.onOutcome?.(d.receiver, 'sent');
      } else if (verdict.outcome === 'retry') {
        ok = await store.finishDelivery(d.id, leader.identity, { state: 'pending', nextAttemptAt: now + verdict.delayMs, error: verdict.error });
        this.#o.onOutcome?.(d.receiver, 'retried');
        this.#log.warn({ ...log, reason: verdict.reason, retryInMs: verdict.delayMs, error: verdict.error }, 'notification delivery failed; will retry');
      } else {
        ok = await store.finishDelivery(d.id, leader.identity, { state: 'failed', error: `${verdict.reason}: ${verdict.error}` });
        this.#o.onOutcome?.(d.receiver, 'failed');
        this.#log.error({ ...log, reason: verdict.reason, error: verdict.error }, 'notification delivery failed for good');
      }
      if (!ok) this.#log.warn(log, 'delivery was no longer claimed by this replica');
    }
    return n;
  }
}
