// Store outage: PostgreSQL goes away in the middle of a stream of alert posts and comes back. While it
// is away, ingest answers 503 (senders retry) and /readyz turns 503; every alert acknowledged with 200
// is in the database exactly once; service resumes with no restart, and retried alerts land once.
import assert from 'node:assert/strict';
import request from 'supertest';
import { PostgresStore } from '../../src/store/postgres/store.ts';
import { INGEST_TOKEN, makeApp, READ_TOKEN, type TestApp } from '../support/app.ts';
import { requireComponent, waitFor } from '../support/proc.ts';
import { databaseUrl, PG_ADMIN_URL, postgresAvailable, TestDatabases, type TestDatabase } from './pg.ts';
import { TcpProxy } from './tcp-proxy.ts';

const MINUTE = 60_000;

function alert(i: number, now: number) {
  return [{
    labels: { alertname: 'OutageProbe', namespace: `outage-${i}`, pod: 'web-7d9f8b6c5-x2k4q', severity: 'warning' },
    annotations: { summary: 'probe during a database outage' },
    startsAt: new Date(now - MINUTE).toISOString(),
    endsAt: new Date(now + 4 * MINUTE).toISOString(),
  }];
}

describe('PostgreSQL outage during ingest', function () {
  this.timeout(60_000);
  const dbs = new TestDatabases();
  let db: TestDatabase;
  let proxy: TcpProxy;
  let t: TestApp;

  before(async function () {
    requireComponent(this, 'PostgreSQL at 127.0.0.1:5432 (KS_TEST_PG_URL)', await postgresAvailable());
    db = await dbs.create({ migrated: true });
    const target = new URL(PG_ADMIN_URL);
    proxy = new TcpProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
    const port = await proxy.listen();
    const viaProxy = new URL(databaseUrl(db.name));
    viaProxy.host = `127.0.0.1:${port}`;
    const store = new PostgresStore({
      url: viaProxy.toString(), maxOccurrences: 10, connectTimeoutMs: 1000, statementTimeoutMs: 2000,
      notifier: { backoff: { initialMs: 20, maxMs: 200 } },
    });
    t = await makeApp({ store });
  });
  after(async () => {
    await t?.close();
    await proxy?.close();
    await db?.drop();
    await dbs.dispose();
  });

  it('answers 503 while the database is away, loses nothing acknowledged, and recovers by itself', async () => {
    // A sender retries the very body it sent (same startsAt): a retry is a re-delivery, never a new occurrence.
    const bodies = new Map<number, ReturnType<typeof alert>>();
    const post = (i: number) => {
      if (!bodies.has(i)) bodies.set(i, alert(i, Date.now()));
      return request(t.app.handler).post('/api/v2/alerts').set('authorization', `Bearer ${INGEST_TOKEN}`).send(bodies.get(i)!);
    };
    const ready = async () => (await request(t.app.handler).get('/readyz')).status;
    const status = new Map<number, number>();
    let next = 0;
    let streaming = true;
    // Four senders posting distinct alerts back to back for the whole test.
    const senders = Array.from({ length: 4 }, async () => {
      while (streaming) {
        const i = next++;
        status.set(i, (await post(i)).status);
      }
    });
    const count = (code: number) => [...status.values()].filter((s) => s === code).length;

    await waitFor('alerts acknowledged before the outage', async () => count(200) >= 40, 10_000, 5);
    assert.equal(await ready(), 200);

    await proxy.cut();
    const cutAt = next;
    await waitFor('503s while the database is away', async () => count(503) >= 20, 10_000, 5);
    assert.equal(await ready(), 503, '/readyz turns 503');
    const during = [...status].filter(([i]) => i >= cutAt + 4).map(([, s]) => s);
    assert.ok(during.length > 0 && during.every((s) => s === 503), `only 503 after the cut, got ${[...new Set(during)]}`);

    await proxy.restore();
    const restoredAt = next;
    await waitFor('ingest succeeding again without a restart', async () =>
      [...status].filter(([i, s]) => i > restoredAt && s === 200).length >= 20, 15_000, 5);
    assert.equal(await ready(), 200);
    streaming = false;
    await Promise.all(senders);

    assert.deepEqual(new Set(status.values()), new Set([200, 503]), 'every answer was 200 or 503');
    const groups = async () => {
      const out = new Map<string, number>();
      for (let page = 1; ; page++) {
        const res = await request(t.app.handler).get(`/api/errors?page_size=200&page=${page}`).set('authorization', `Bearer ${READ_TOKEN}`);
        assert.equal(res.status, 200);
        for (const g of res.body.errors as Array<{ namespace: string; count: number }>) out.set(g.namespace, g.count);
        if (res.body.errors.length < 200) return out;
      }
    };
    const stored = await groups();
    for (const [i, s] of status) {
      if (s === 200) assert.equal(stored.get(`outage-${i}`), 1, `acknowledged alert ${i} is stored exactly once`);
    }

    // Senders retry what got 503; each lands once, including any whose commit had in fact succeeded.
    for (const [i, s] of status) {
      if (s === 503) assert.equal((await post(i)).status, 200);
    }
    const after = await groups();
    assert.equal(after.size, status.size);
    assert.deepEqual(new Set(after.values()), new Set([1]));
    assert.ok(proxy.accepted > 1, 'the pool reconnected through the restored path');
  });
});
