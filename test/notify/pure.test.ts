// Pure parts of notifications: routing semantics, batching, repeats, the rate limit, the retry policy.
import assert from 'node:assert/strict';
import { notificationsSchema } from '../../src/config/notifications.ts';
import { pickBatch, planBatch, repeatVerdict } from '../../src/notify/plan.ts';
import { decide, DEFAULT_RETRY, parseRetryAfter } from '../../src/notify/retry.ts';
import { compileRoutes } from '../../src/notify/routing.ts';
import type { NotificationEvent, OutboxState } from '../../src/store/outbox.ts';
import { LoadError } from '../../src/domain/errors.ts';
import { group, T0 } from './groups.ts';


const routesFrom = (routes: unknown[]) => {
  const cfg = notificationsSchema.parse({ receivers: [{ name: 'a', webhook: { url: 'https://x' } }, { name: 'b', webhook: { url: 'https://y' } }], routes });
  return compileRoutes(cfg.routes);
};

const ev = (id: number, groupId: number, kind: NotificationEvent['kind'] = 'firing', at = T0): NotificationEvent =>
  ({ id, groupId, kind, at, detail: { reason: 'new' } });
const empty: OutboxState = { detailedSince: {}, marks: [] };
const opts = { groupWaitMs: 10_000, rateLimit: { max: 20, windowMs: 600_000 } };

describe('notifications: routing', () => {
  it('matches priorities, namespaces, rules and labels with the rules\' semantics (exact, !negated, ~regex)', () => {
    const [r] = routesFrom([{ match: { priorities: ['P1', 'P2'], namespaces: ['!kube-system'], rules: ['!noisy'], labels: { app: '~web-.*', tier: '!batch' } }, receivers: ['a'] }]);
    assert.equal(r.matches(group(1)), true);
    assert.equal(r.matches(group(1, { priority: 'P3' })), false, 'priority');
    assert.equal(r.matches(group(1, { namespace: 'kube-system' })), false, 'negated namespace');
    assert.equal(r.matches(group(1, { rule: 'noisy' })), false, 'negated rule');
    assert.equal(r.matches(group(1, { labels: { app: 'api' } })), false, 'regex label');
    assert.equal(r.matches(group(1, { labels: { app: 'web-x', tier: 'batch' } })), false, 'negated label');
    const [all] = routesFrom([{ receivers: ['a'] }]);
    assert.equal(all.matches(group(1, { priority: 'P4', namespace: 'kube-system' })), true, 'an empty match matches everything');
  });

  it('rejects an invalid label regex and an unknown receiver, naming where', () => {
    assert.throws(() => routesFrom([{ match: { labels: { app: '~(' } }, receivers: ['a'] }]), (e: unknown) => e instanceof LoadError && /routes\.0\.match\.labels\.app/.test(e.message));
    const bad = notificationsSchema.safeParse({ receivers: [{ name: 'a', webhook: { url: 'https://x' } }], routes: [{ receivers: ['nope'] }] });
    assert.equal(bad.success, false);
    assert.match(JSON.stringify(bad.error?.issues), /unknown receiver \\"nope\\"/);
    const two = notificationsSchema.safeParse({ receivers: [{ name: 'a', webhook: { url: 'https://x' }, slack: { webhook_url_file: '/f' } }] });
    assert.equal(two.success, false, 'a receiver has exactly one type');
  });
});

describe('notifications: batching and repeats', () => {
  it('group_wait: nothing goes out until the window that opened with the oldest event has passed', () => {
    const events = [ev(1, 1, 'firing', T0), ev(2, 2, 'firing', T0 + 4000), ev(3, 3, 'firing', T0 + 12_000)];
    assert.deepEqual(pickBatch(events, T0 + 5000, 10_000), { batch: [], waitMs: 5000 });
    assert.deepEqual(pickBatch(events, T0 + 10_000, 10_000).batch.map((e) => e.id), [1, 2]);
  });

  it('repeat_interval drops repeats unless the priority rose; a resolve needs an earlier firing and goes once', () => {
    const mark = { receiver: 'a', groupId: 1, kind: 'firing' as const, priority: 'P2' as const, at: T0, repeatAt: null };
    assert.equal(repeatVerdict(mark, 'firing', 'P2', T0 + 1000, 3_600_000), 'repeat-interval');
    assert.equal(repeatVerdict(mark, 'firing', 'P1', T0 + 1000, 3_600_000), null, 'priority rise');
    assert.equal(repeatVerdict(mark, 'firing', 'P2', T0 + 3_600_000, 3_600_000), null, 'interval passed');
    assert.equal(repeatVerdict(undefined, 'resolved', 'P2', T0, 1), 'never-notified');
    assert.equal(repeatVerdict(mark, 'resolved', 'P2', T0, 1), null);
    assert.equal(repeatVerdict({ ...mark, kind: 'resolved' }, 'resolved', 'P2', T0, 1), 'repeat-interval');
  });

  it('every matching route notifies, a receiver once per group and message; unrouted events are named', () => {
    const routes = routesFrom([
      { name: 'p1', match: { priorities: ['P1'] }, receivers: ['a', 'b'] },
      { name: 'all', receivers: ['a'] },
    ]);
    const groups = new Map([[1, group(1)], [2, group(2, { priority: 'P3' })]]);
    const { plan, skips } = planBatch({ batch: [ev(1, 1), ev(2, 2), ev(3, 99)], groups, routes, state: empty, now: T0, options: opts });
    const shape = plan.deliveries.map((d) => [d.route, d.receiver, d.groupIds]);
    assert.deepEqual(shape, [['p1', 'a', [1]], ['p1', 'b', [1]], ['all', 'a', [2]]]);
    assert.deepEqual(skips, [{ eventId: 3, groupId: 99, receiver: null, reason: 'group-gone' }]);
    assert.deepEqual(plan.eventIds, [1, 2, 3]);
    assert.equal(plan.marks.length, 3);
  });

  it('a storm of 1,000 new groups becomes one message per receiver: 20 in detail (P1 first) and a counted summary', () => {
    const routes = routesFrom([{ name: 'storm', receivers: ['a'] }]);
    const groups = new Map(Array.from({ length: 1000 }, (_, i) => [i + 1, group(i + 1, { priority: i % 10 === 0 ? 'P1' : 'P3' })] as const));
    const batch = [...groups.keys()].map((id) => ev(id, id));
    const { plan, skips } = planBatch({ batch, groups, routes, state: empty, now: T0, options: opts });
    assert.equal(plan.deliveries.length, 1);
    const d = plan.deliveries[0];
    const m = d.message as { groups: Array<{ priority: string }>; suppressed: number; suppressedByPriority: Record<string, number> };
    assert.deepEqual([d.detailed, d.suppressed, m.groups.length, m.suppressed], [20, 980, 20, 980]);
    assert.ok(m.groups.every((g) => g.priority === 'P1'), 'the detailed ones are the most urgent');
    assert.deepEqual(m.suppressedByPriority, { P1: 80, P2: 0, P3: 900, P4: 0 });
    assert.equal(skips.filter((s) => s.reason === 'rate-limited').length, 980);
    // The window is spent: the next batch is summary only.
    const next = planBatch({ batch: [ev(2000, 1001)], groups: new Map([[1001, group(1001)]]), routes, state: { detailedSince: { 'storm\u0000a': 20 }, marks: [] }, now: T0 + 1, options: opts });
    assert.deepEqual([next.plan.deliveries[0].detailed, next.plan.deliveries[0].suppressed], [0, 1]);
  });

  it('a group that fired and resolved within group_wait tells nobody; firing goes before resolved', () => {
    const routes = routesFrom([{ receivers: ['a'] }]);
    const flap = planBatch({ batch: [ev(1, 1, 'firing'), ev(2, 1, 'resolved')], groups: new Map([[1, group(1, { status: 'resolved' })]]), routes, state: empty, now: T0, options: opts });
    assert.deepEqual(flap.plan.deliveries, []);
    assert.deepEqual(flap.skips.map((s) => s.reason), ['never-notified']);
    const mark = { receiver: 'a', groupId: 2, kind: 'firing' as const, priority: 'P1' as const, at: T0 - 1, repeatAt: null };
    const both = planBatch({ batch: [ev(3, 2, 'resolved'), ev(4, 1, 'firing')], groups: new Map([[1, group(1)], [2, group(2, { status: 'resolved' })]]), routes, state: { detailedSince: {}, marks: [mark] }, now: T0, options: opts });
    assert.deepEqual(both.plan.deliveries.map((d) => d.kind), ['firing', 'resolved']);
  });
});

describe('notifications: retry policy', () => {
  const p = { ...DEFAULT_RETRY, maxAttempts: 3 };
  const resp = (status: number, retryAfter: string | null = null) => ({ kind: 'response' as const, status, retryAfter, body: '' });
  const mid = () => 0.5;

  it('2xx is sent; 5xx, 408, timeouts and network errors retry with growing backoff; other 4xx fail at once', () => {
    assert.deepEqual(decide(resp(202), 1, p, T0, mid), { outcome: 'sent' });
    const d1 = decide(resp(500), 1, p, T0, mid);
    const d2 = decide(resp(502), 2, p, T0, mid);
    assert.equal(d1.outcome, 'retry');
    assert.ok(d1.outcome === 'retry' && d2.outcome === 'retry' && d2.delayMs === 2 * d1.delayMs);
    assert.equal(decide(resp(408), 1, p, T0, mid).outcome, 'retry');
    assert.equal(decide({ kind: 'error', reason: 'timeout', message: 't' }, 1, p, T0, mid).outcome, 'retry');
    assert.equal(decide({ kind: 'error', reason: 'network', message: 'reset' }, 1, p, T0, mid).outcome, 'retry');
    assert.deepEqual(decide(resp(400), 1, p, T0, mid), { outcome: 'failed', reason: 'http-400', error: 'HTTP 400' });
    assert.deepEqual(decide(resp(503), 3, p, T0, mid), { outcome: 'failed', reason: 'max-attempts', error: 'gave up after 3 attempts; last: HTTP 503' });
  });

  it('429 honours Retry-After in seconds or as a date, capped', () => {
    const r = decide(resp(429, '7'), 1, p, T0, mid);
    assert.ok(r.outcome === 'retry' && r.delayMs === 7000 && r.reason === 'http-429');
    const date = decide(resp(429, new Date(T0 + 30_000).toUTCString()), 1, p, T0, mid);
    assert.ok(date.outcome === 'retry' && date.delayMs === 30_000);
    const huge = decide(resp(429, '999999'), 1, p, T0, mid);
    assert.ok(huge.outcome === 'retry' && huge.delayMs === p.maxRetryAfterMs);
    assert.equal(parseRetryAfter('soon', T0), null);
  });
});
