// Notifications across three server processes on one PostgreSQL database with a real Lease (fake
// Kubernetes API): only the Lease holder sends; it is SIGKILLed while a delivery hangs at the
// receiver; the next holder sends that delivery again under the same id and everything ingested
// meanwhile through the other replicas — each notification under exactly one delivery id, none lost.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresAvailable, TestDatabases, type TestDatabase } from '../ha/pg.ts';
import { KubeFixture, LEASE, startReplica, type Replica } from '../support/kube-fixture.ts';
import { builtServerPresent, requireComponent, waitFor } from '../support/proc.ts';
import { READ_TOKEN } from '../support/server-proc.ts';
import { startReceiver, type Receiver } from './receiver.ts';

const TIMINGS = { leaseDuration: '4s', renewDeadline: '3s', retryPeriod: '500ms' };

describe('notifications HA: three replicas, one Lease, one database', function () {
  this.timeout(120_000);
  const dbs = new TestDatabases();
  let db: TestDatabase; let dir: string; let fixture: KubeFixture; let hook: Receiver;
  const replicas: Replica[] = [];

  before(async function () {
    requireComponent(this, 'the built server (npm run build)', builtServerPresent());
    requireComponent(this, 'PostgreSQL on 127.0.0.1:5432', await postgresAvailable());
    dir = mkdtempSync(join(tmpdir(), 'ks-notify-ha-'));
    fixture = new KubeFixture({ dir });
    await fixture.start();
    db = await dbs.create();
    hook = await startReceiver(['hang']);
    writeFileSync(join(dir, 'hmac'), 'ha-notify-hmac-secret-0123456789\n');
    const config = {
      remediation: { enabled: false },
      notifications: {
        receivers: [{ name: 'hook', webhook: { url: `${hook.url}/ks`, hmac_secret_file: join(dir, 'hmac'), ca_file: hook.caFile, timeout: '30s' } }],
        routes: [{ receivers: ['hook'] }],
        group_wait: '1s',
      },
    };
    for (let i = 0; i < 3; i++) replicas.push(await startReplica({ fixture, name: `ks-n${i}`, databaseUrl: db.url, timings: TIMINGS, config }));
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.server.stop('SIGKILL').catch(() => {})));
    await hook?.close();
    await fixture?.close();
    await db?.drop(); await dbs.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const alert = (name: string) => [{
    labels: { alertname: name, namespace: 'shop', pod: `${name.toLowerCase()}-7d4b9c-x2x9z`, severity: 'critical' },
    annotations: { summary: `${name} is failing` }, startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 600_000).toISOString(),
  }];
  const titlesBy = () => {
    const byId = new Map<string, Set<string>>();
    for (const r of hook.received) {
      const id = String(r.headers['x-kube-sentinel-delivery']);
      const titles = byId.get(id) ?? new Set<string>();
      for (const g of (r.json as { groups: Array<{ title: string }> }).groups) titles.add(g.title);
      byId.set(id, titles);
    }
    return byId;
  };

  it('the next Lease holder sends what the killed one left mid-send, and everything since, once', async () => {
    const holder = await waitFor('a Lease holder', async () => fixture.leaseHolder(LEASE.namespace, LEASE.name) || null, 15_000, 100);
    const leader = replicas.find((r) => r.identity === holder)!;
    const others = replicas.filter((r) => r !== leader);
    // Ingested by a replica that does not lead: the leader still sends (NOTIFY wakes it).
    assert.equal((await others[0].server.client.post('/api/v2/alerts', alert('HaFirst'))).status, 200);
    await waitFor('the leader to be mid-delivery', async () => hook.received.length === 1, 15_000, 50);
    leader.server.proc.child.kill('SIGKILL');
    await leader.server.proc.exited;
    assert.equal((await others[1].server.client.post('/api/v2/alerts', alert('HaSecond'))).status, 200);

    await waitFor('both notifications from the next leader', async () => {
      const all = [...titlesBy().values()].flatMap((s) => [...s]);
      return all.includes('HaFirst') && all.includes('HaSecond');
    }, 30_000, 100);
    await new Promise((r) => setTimeout(r, 1500)); // a doubled delivery would arrive by now
    const byId = titlesBy();
    const holders = [...byId.entries()].filter(([, t]) => t.has('HaFirst'));
    assert.equal(holders.length, 1, `HaFirst under one delivery id: ${JSON.stringify([...byId].map(([k, v]) => [k, [...v]]))}`);
    assert.equal([...byId.values()].filter((t) => t.has('HaSecond')).length, 1, 'HaSecond under one delivery id');
    const newHolder = fixture.leaseHolder(LEASE.namespace, LEASE.name);
    assert.notEqual(newHolder, holder);
    const api = await others[0].server.client.get('/api/notifications', READ_TOKEN);
    const rows = api.body.notifications as Array<{ state: string }>;
    assert.equal(rows.length, byId.size, 'one stored delivery per delivery id');
    assert.ok(rows.every((r) => r.state === 'sent'), JSON.stringify(rows));
  });
});
