// Notifications end to end inside one process: a real store (SQLite), the real transport (undici over
// HTTPS with a custom CA) and local receivers that check payload shapes and misbehave on cue. The
// clock is injected: group_wait and retry delays are stepped, never waited for.
import { systemClock } from '../../src/domain/ports.ts';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { notificationsSchema } from '../../src/config/notifications.ts';
import { createNotifications, type Notifications } from '../../src/notify/index.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import type { Store } from '../../src/store/types.ts';
import { makeItem, T0 } from '../store/factory.ts';
import { startReceiver, type Receiver, type Step } from './receiver.ts';

const SECRET = 'hmac-secret-for-tests-0123456789';
const PD_KEY = 'R0UTINGKEY0123456789abcdef012345';

interface Rig {
  store: Store;
  n: Notifications;
  clock: { now: number };
  outcomes: Map<string, number>;
  close(): Promise<void>;
}

function secretFile(dir: string, name: string, value: string): string {
  const f = join(dir, name);
  writeFileSync(f, `${value}\n`);
  return f;
}

async function rig(receivers: unknown[], routes: unknown[], extra: Record<string, unknown> = {}): Promise<Rig> {
  const store = new SqliteStore({ path: ':memory:', maxOccurrences: 5 });
  await store.migrate();
  const clock = { now: T0 };
  const outcomes = new Map<string, number>();
  const config = notificationsSchema.parse({ receivers, routes, group_wait: '10s', ...extra });
  const n = (await createNotifications({
    config, externalUrl: 'https://sentinel.example', store, leader: { identity: 'leader-1', isLeader: () => true },
    clock: { ...systemClock, now: () => clock.now }, retry: { baseMs: 1000, maxMs: 60_000 },
    onOutcome: (receiver, outcome, k) => outcomes.set(`${receiver}/${outcome}`, (outcomes.get(`${receiver}/${outcome}`) ?? 0) + (k ?? 1)),
  }))!;
  return { store, n, clock, outcomes, close: async () => { await n.stop(); await store.close(); } };
}

const firing = (fp: string, key: string, at: number) =>
  makeItem({ fingerprint: fp, receivedAt: at, signal: { occurrenceKey: key, state: 'firing', endsAt: null } });
const resolved = (fp: string, key: string, at: number) =>
  makeItem({ fingerprint: fp, receivedAt: at, signal: { occurrenceKey: key, state: 'resolved', endsAt: at } });

/** One pass as the loop runs it, at the rig's current time. */
async function pass(r: Rig): Promise<void> {
  await r.n.notifier.planOnce();
  await r.n.notifier.sendDue();
}

function verifyHmac(headers: Record<string, string | string[] | undefined>, body: string): boolean {
  const ts = String(headers['x-kube-sentinel-timestamp']);
  const expected = `sha256=${createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex')}`;
  return headers['x-kube-sentinel-signature'] === expected;
}

describe('notifications: delivery to Slack, PagerDuty and a signed webhook', function () {
  this.timeout(30_000);
  let slack: Receiver; let pd: Receiver; let hook: Receiver; let r: Rig;

  before(async () => {
    [slack, pd, hook] = await Promise.all([startReceiver(), startReceiver(), startReceiver()]);
    const dir = mkdtempSync(join(tmpdir(), 'ks-notify-'));
    r = await rig([
      { name: 'oncall', slack: { webhook_url_file: secretFile(dir, 'slack', `${slack.url}/services/T0/B0/SLACKSECRET0123`), ca_file: slack.caFile } },
      { name: 'pager', pagerduty: { routing_key_file: secretFile(dir, 'pd', PD_KEY), url: `${pd.url}/v2/enqueue`, ca_file: pd.caFile } },
      { name: 'hook', webhook: { url: `${hook.url}/ks`, hmac_secret_file: secretFile(dir, 'hmac', SECRET), ca_file: hook.caFile } },
    ], [{ match: { priorities: ['P1', 'P2'], namespaces: ['!kube-system'] }, receivers: ['oncall', 'pager', 'hook'] }]);
  });
  after(async () => { await r?.close(); await Promise.all([slack, pd, hook].map((x) => x?.close())); });

  it('a P1 reaches every receiver once group_wait has passed, in the documented shapes', async () => {
    const [g] = await r.store.record([firing('fp-p1', 'k1', T0)]);
    r.clock.now = T0 + 9_999;
    await pass(r);
    assert.equal(slack.received.length + pd.received.length + hook.received.length, 0, 'still inside group_wait');
    r.clock.now = T0 + 10_000;
    await pass(r);
    assert.deepEqual([slack.received.length, pd.received.length, hook.received.length], [1, 1, 1]);

    const s = slack.received[0];
    assert.equal(s.path, '/services/T0/B0/SLACKSECRET0123');
    const sj = s.json as { text: string; blocks: Array<{ type: string; text?: { type: string; text: string }; fields?: unknown[] }> };
    assert.equal(typeof sj.text, 'string');
    assert.ok(sj.blocks.length <= 50);
    assert.equal(sj.blocks[0].type, 'header');
    assert.equal(sj.blocks[0].text!.type, 'plain_text');
    assert.ok(sj.blocks[0].text!.text.length <= 150);
    const section = sj.blocks.find((b) => b.type === 'section')!;
    assert.equal(section.text!.type, 'mrkdwn');
    assert.match(section.text!.text, /\[P1\] <https:\/\/sentinel\.example\/errors\/\d+\|KubePodCrashLooping>/);
    assert.ok(section.fields!.length <= 10);
    assert.match(JSON.stringify(section.fields), /Why.*crashloop-backoff/);

    const p = pd.received[0].json as Record<string, any>;
    assert.equal(pd.received[0].path, '/v2/enqueue');
    assert.deepEqual([p.routing_key, p.event_action, p.dedup_key], [PD_KEY, 'trigger', 'fp-p1']);
    assert.equal(p.payload.severity, 'critical');
    assert.ok(p.payload.summary.length > 0 && p.payload.summary.length <= 1024);
    assert.equal(p.payload.source, 'shop/Deployment/web');
    assert.equal(p.links[0].href, `https://sentinel.example/errors/${g.groupId}`);
    // Routing reads groups without their message; the detailed ones are read again whole.
    const detail = hook.received[0].json as { groups: Array<{ id: number; message: string }> };
    const stored = (await r.store.getGroup(g.groupId, { occurrences: 0 }))!;
    assert.ok(stored.message.length > 0);
    assert.deepEqual([detail.groups[0].id, detail.groups[0].message], [g.groupId, stored.message]);

    const h = hook.received[0];
    assert.ok(verifyHmac(h.headers, h.body), 'HMAC over "<timestamp>.<body>"');
    assert.equal(h.headers['x-kube-sentinel-timestamp'], String(Math.floor((T0 + 10_000) / 1000)));
    assert.match(String(h.headers['x-kube-sentinel-delivery']), /^notification-\d+$/);
    const hj = h.json as { kind: string; groups: Array<{ id: number; fingerprint: string; priority: string }> };
    assert.deepEqual([hj.kind, hj.groups[0].id, hj.groups[0].priority], ['firing', g.groupId, 'P1']);
    assert.equal(r.outcomes.get('pager/sent'), 1);
  });

  it('a re-delivered signal never notifies twice; the resolution resolves everywhere', async () => {
    await r.store.record([firing('fp-p1', 'k1', T0 + 20_000)]); // Alertmanager re-sends the same alert
    r.clock.now = T0 + 60_000;
    await pass(r);
    assert.deepEqual([slack.received.length, pd.received.length, hook.received.length], [1, 1, 1]);

    await r.store.record([resolved('fp-p1', 'k1', T0 + 70_000)]);
    r.clock.now = T0 + 80_000;
    await pass(r);
    assert.deepEqual([slack.received.length, pd.received.length, hook.received.length], [2, 2, 2]);
    assert.deepEqual(pd.received[1].json, { routing_key: PD_KEY, event_action: 'resolve', dedup_key: 'fp-p1' });
    assert.match((slack.received[1].json as { blocks: Array<{ text?: { text: string } }> }).blocks[0].text!.text, /^Resolved/);
    assert.equal((hook.received[1].json as { kind: string }).kind, 'resolved');
    const { deliveries } = await r.store.listDeliveries({ page: 1, pageSize: 50 });
    assert.equal(deliveries.length, 6);
    assert.ok(deliveries.every((d) => d.state === 'sent' && d.attempts === 1));
  });

  it('P3 and kube-system groups match no route and send nothing', async () => {
    await r.store.record([makeItem({ fingerprint: 'fp-sys', receivedAt: T0 + 90_000, signal: { namespace: 'kube-system', occurrenceKey: 'x' } })]);
    r.clock.now = T0 + 200_000;
    await pass(r);
    assert.equal(slack.received.length, 2);
  });
});

describe('notifications: no receiver configured', () => {
  it('consumes outbox events, so a receiver configured later is not flooded with old groups', async () => {
    const r = await rig([], []);
    try {
      await r.store.record([firing('fp-old', 'k', T0), firing('fp-old2', 'k', T0)]);
      r.clock.now = T0 + 10_000;
      await pass(r);
      assert.deepEqual(await r.store.pendingNotificationEvents(10), []);
      assert.equal((await r.store.listDeliveries({ page: 1, pageSize: 10 })).total, 0);
      assert.equal(r.outcomes.size, 0, 'no metric series without receivers');
    } finally {
      await r.close();
    }
  });

  it('retention prunes old events even if nothing ever planned them, and finished deliveries', async () => {
    const store = new SqliteStore({ path: ':memory:', maxOccurrences: 5 });
    await store.migrate();
    await store.record([firing('fp-p', 'k', T0)]);
    await store.planNotifications({ eventIds: [], marks: [], deliveries: [
      { route: 'r', receiver: 'x', kind: 'firing', groupIds: [1], message: {}, detailed: 1, suppressed: 0, createdAt: T0, notBefore: T0 },
    ] }, T0);
    const d = (await store.claimDelivery('me', T0, 1000))!;
    await store.finishDelivery(d.id, 'me', { state: 'sent', at: T0 });
    await store.prune(T0 + 1);
    assert.deepEqual(await store.pendingNotificationEvents(10), []);
    assert.equal((await store.listDeliveries({ page: 1, pageSize: 10 })).total, 0);
    await store.close();
  });
});

describe('notifications: faults', function () {
  this.timeout(30_000);
  let hook: Receiver; let r: Rig;
  const setup = async (script: Step[], extra: Record<string, unknown> = {}) => {
    hook = await startReceiver(script);
    const dir = mkdtempSync(join(tmpdir(), 'ks-notify-'));
    r = await rig([{ name: 'hook', webhook: { url: `${hook.url}/ks`, hmac_secret_file: secretFile(dir, 'hmac', SECRET), ca_file: hook.caFile, timeout: '300ms' } }],
      [{ receivers: ['hook'] }], extra);
    await r.store.record([firing('fp-f', 'k', T0)]);
    r.clock.now = T0 + 10_000;
  };
  afterEach(async () => { await r?.close(); await hook?.close(); });

  it('500, 429 with Retry-After, a hang and a dropped connection are retried; the same delivery id arrives until one succeeds', async () => {
    await setup([500, { status: 429, headers: { 'retry-after': '7' } }, 'hang', 'close', 200]);
    await pass(r);
    let [d] = (await r.store.listDeliveries({ page: 1, pageSize: 1 })).deliveries;
    assert.deepEqual([d.state, d.attempts, d.lastError?.slice(0, 8)], ['pending', 1, 'HTTP 500']);
    r.clock.now = d.nextAttemptAt;
    await r.n.notifier.sendDue();
    [d] = (await r.store.listDeliveries({ page: 1, pageSize: 1 })).deliveries;
    assert.equal(d.nextAttemptAt, r.clock.now + 7000, 'Retry-After: 7');
    r.clock.now = d.nextAttemptAt - 1;
    assert.equal(await r.n.notifier.sendDue(), 0, 'not before Retry-After');
    r.clock.now = d.nextAttemptAt;
    await r.n.notifier.sendDue(); // hangs → timeout
    [d] = (await r.store.listDeliveries({ page: 1, pageSize: 1 })).deliveries;
    assert.match(d.lastError ?? '', /timeout|Timeout/i);
    r.clock.now = d.nextAttemptAt;
    await r.n.notifier.sendDue(); // connection closed
    [d] = (await r.store.listDeliveries({ page: 1, pageSize: 1 })).deliveries;
    assert.equal(d.state, 'pending');
    r.clock.now = d.nextAttemptAt;
    await r.n.notifier.sendDue();
    [d] = (await r.store.listDeliveries({ page: 1, pageSize: 1 })).deliveries;
    assert.deepEqual([d.state, d.attempts], ['sent', 5]);
    const ids = new Set(hook.received.map((x) => x.headers['x-kube-sentinel-delivery']));
    assert.deepEqual([hook.received.length, ids.size], [5, 1]);
    assert.ok(hook.received.every((x) => verifyHmac(x.headers, x.body)));
    assert.deepEqual([r.outcomes.get('hook/retried'), r.outcomes.get('hook/sent')], [4, 1]);
  });

  it('gives up after max_attempts (failed, counted, visible with its error); a 400 fails at once', async () => {
    await setup([503, 503, 503], { max_attempts: 2 });
    await pass(r);
    let [d] = (await r.store.listDeliveries({ page: 1, pageSize: 1 })).deliveries;
    r.clock.now = d.nextAttemptAt;
    await r.n.notifier.sendDue();
    [d] = (await r.store.listDeliveries({ page: 1, pageSize: 1 })).deliveries;
    assert.equal(d.state, 'failed');
    assert.match(d.lastError ?? '', /^max-attempts: gave up after 2 attempts; last: HTTP 503/);
    assert.equal(r.outcomes.get('hook/failed'), 1);
    await r.close(); await hook.close();

    await setup([400]);
    await pass(r);
    [d] = (await r.store.listDeliveries({ page: 1, pageSize: 1 })).deliveries;
    assert.deepEqual([d.state, d.attempts, hook.received.length], ['failed', 1, 1]);
  });

  it('a storm of 1,000 new groups sends one rate-limited summary, not 1,000 messages', async () => {
    await setup([]);
    const storm = Array.from({ length: 1000 }, (_, i) => firing(`fp-storm-${String(i).padStart(4, '0')}`, 'k', T0 + 1));
    await r.store.record(storm);
    await pass(r);
    assert.equal(hook.received.length, 1);
    const m = hook.received[0].json as { groups: unknown[]; suppressed: number };
    assert.deepEqual([m.groups.length, m.suppressed], [20, 981]);
    assert.equal(r.outcomes.get('hook/rate-limited'), 981);
  });

  it('never logs or stores a secret: a Slack URL in an error text is redacted', async () => {
    const { scrub } = await import('../../src/notify/transport.ts');
    assert.equal(scrub('connect failed for https://hooks.slack.com/services/T/B/XYZ', { slackUrl: 'https://hooks.slack.com/services/T/B/XYZ' }), 'connect failed for [redacted]');
  });
});
