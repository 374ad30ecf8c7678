// Failover on PostgreSQL: two replicas' notifiers share one database; only the Lease holder sends.
// The first leader plans and is cut off mid-send (claimed, never finished); the second takes over and
// sends that delivery again under the same id, plans the rest once, and the old leader's late
// "sent" is refused. Nothing is lost, nothing is planned twice.
import { systemClock } from '../../src/domain/ports.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { notificationsSchema } from '../../src/config/notifications.ts';
import { createNotifications, type Notifications } from '../../src/notify/index.ts';
import { PostgresStore } from '../../src/store/postgres/store.ts';
import { postgresAvailable, TestDatabases, type TestDatabase } from '../ha/pg.ts';
import { makeItem, T0 } from '../store/factory.ts';
import { requireComponent } from '../support/proc.ts';
import { startReceiver, type Receiver } from './receiver.ts';

describe('notifications: leader failover on PostgreSQL', function () {
  this.timeout(60_000);
  const dbs = new TestDatabases();
  let db: TestDatabase; let a: PostgresStore; let b: PostgresStore; let hook: Receiver;
  let na: Notifications; let nb: Notifications;
  const lead = { a: true, b: false };
  const clock = { now: T0 };

  before(async function () {
    requireComponent(this, 'PostgreSQL on 127.0.0.1:5432', await postgresAvailable());
    db = await dbs.create({ migrated: true });
    a = new PostgresStore({ url: db.url, maxOccurrences: 5 });
    b = new PostgresStore({ url: db.url, maxOccurrences: 5 });
    hook = await startReceiver();
    const secret = join(mkdtempSync(join(tmpdir(), 'ks-fo-')), 'hmac');
    writeFileSync(secret, 'failover-hmac-secret-0123456789');
    const config = notificationsSchema.parse({
      receivers: [{ name: 'hook', webhook: { url: `${hook.url}/ks`, hmac_secret_file: secret, ca_file: hook.caFile } }],
      routes: [{ receivers: ['hook'] }], group_wait: '10s',
    });
    const make = (store: PostgresStore, id: 'a' | 'b') => createNotifications({
      config, store, leader: { identity: `replica-${id}`, isLeader: () => lead[id] }, clock: { ...systemClock, now: () => clock.now }, claimMs: 600_000,
    }) as Promise<Notifications>;
    [na, nb] = await Promise.all([make(a, 'a'), make(b, 'b')]);
  });
  after(async () => {
    await na?.stop(); await nb?.stop();
    await a?.close(); await b?.close();
    await hook?.close();
    await db?.drop(); await dbs.dispose();
  });

  it('the new leader re-sends what the old one left mid-send, plans the rest once, and the old one cannot finish', async () => {
    // Two replicas ingest different groups into the same database.
    await a.record([makeItem({ fingerprint: 'fp-a', receivedAt: T0, signal: { occurrenceKey: 'a' } })]);
    await b.record([makeItem({ fingerprint: 'fp-b', receivedAt: T0 + 1, signal: { occurrenceKey: 'b' } })]);
    clock.now = T0 + 10_001;
    // Both plan at the same moment (an old and a new leader overlapping): one plan wins, whole.
    await Promise.all([na.notifier.planOnce(), nb.notifier.planOnce()]);
    const planned = (await a.listDeliveries({ page: 1, pageSize: 10 })).deliveries;
    assert.equal(planned.length, 1, 'planned once');
    const [d] = planned;
    assert.equal((d.message as { groups: unknown[] }).groups.length, 2, 'one message for both groups');

    // Replica a claims the delivery and dies before the receiver answers (the claim is long: 10 min).
    const claimed = (await a.claimDelivery('replica-a', clock.now, 600_000))!;
    lead.a = false; lead.b = true;
    await b.record([makeItem({ fingerprint: 'fp-c', receivedAt: clock.now, signal: { occurrenceKey: 'c' } })]);

    // b becomes leader: its loop takes over at once (not after the 10-minute claim), then plans fp-c.
    nb.start();
    clock.now += 10_001;
    nb.wake();
    const deadline = Date.now() + 10_000;
    while (hook.received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const ids = hook.received.map((r) => String(r.headers['x-kube-sentinel-delivery']));
    assert.deepEqual(ids, [`notification-${claimed.id}`, `notification-${claimed.id + 1}`], 'the cut-off delivery first, under its own id');
    const titles = hook.received.flatMap((r) => (r.json as { groups: Array<{ fingerprint: string }> }).groups.map((g) => g.fingerprint));
    assert.deepEqual(titles.sort(), ['fp-a', 'fp-b', 'fp-c']);
    assert.equal(await a.finishDelivery(claimed.id, 'replica-a', { state: 'sent', at: clock.now }), false, 'the old leader\'s late result is refused');
    const all = (await b.listDeliveries({ page: 1, pageSize: 10 })).deliveries;
    assert.deepEqual(all.map((x) => [x.state, x.attempts]), [['sent', 1], ['sent', 2]]);
    assert.deepEqual(await b.pendingNotificationEvents(10), []);
  });
});
