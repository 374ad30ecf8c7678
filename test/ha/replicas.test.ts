// The Helm topology on one machine: three `webhook` replicas and one `dashboard` replica (the built
// server) sharing one PostgreSQL database. Alerts sprayed across the webhooks — including the same
// alert sent to all three at once, as Alertmanager HA peers do — must show up exactly once with exact
// counts in the dashboard's API and live feed, and the dashboard must refuse every write.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { builtServerPresent, requireComponent, waitFor } from '../support/proc.ts';
import { ADMIN_TOKEN, READ_TOKEN, startServer, type ServerProc } from '../support/server-proc.ts';
import { postgresAvailable, TestDatabases, type TestDatabase } from './pg.ts';

const MINUTE = 60_000;
const ALERTS = 45;
const T = Date.now();

function alert(i: number, startsAt: number) {
  return {
    labels: { alertname: 'ReplicaProbe', namespace: `ha-${i}`, pod: 'web-7d9f8b6c5-x2k4q', severity: 'warning' },
    annotations: { summary: `replica probe ${i}` },
    startsAt: new Date(startsAt).toISOString(),
    endsAt: new Date(T + 10 * MINUTE).toISOString(),
  };
}

function event(count: number) {
  return {
    apiVersion: 'v1', kind: 'Event', count, type: 'Warning', reason: 'BackOff',
    message: 'Back-off restarting failed container api in pod api-5f7c9d-abcde',
    metadata: { name: 'api-5f7c9d-abcde.17a2', namespace: 'ha-events', uid: 'c0ffee00-0000-4000-8000-000000000001' },
    involvedObject: { kind: 'Pod', name: 'api-5f7c9d-abcde', namespace: 'ha-events', uid: 'pod-uid-1' },
    lastTimestamp: new Date(T).toISOString(),
  };
}

interface Group { id: number; namespace: string; count: number; source: string }

describe('HA: three webhook replicas and a dashboard on one PostgreSQL', function () {
  this.timeout(90_000);
  const dbs = new TestDatabases();
  let db: TestDatabase;
  let webhooks: ServerProc[] = [];
  let dashboard: ServerProc | undefined;

  before(async function () {
    requireComponent(this, 'PostgreSQL at 127.0.0.1:5432 (KS_TEST_PG_URL)', await postgresAvailable());
    requireComponent(this, 'the built server (npm run build)', builtServerPresent());
    // An empty database: the three replicas start together and race to migrate it.
    db = await dbs.create();
    const store = { type: 'postgres', url: db.url };
    const env = { DATABASE_URL: db.url };
    webhooks = await Promise.all([0, 1, 2].map(() => startServer({ config: { role: 'webhook', store }, env })));
    dashboard = await startServer({ config: { role: 'dashboard', store: { ...store, read_url: db.url } }, env });
  });
  after(async () => {
    await Promise.all([...webhooks, ...(dashboard ? [dashboard] : [])].map((s) => s.stop()));
    await db?.drop();
    await dbs.dispose();
  });

  const groups = async (): Promise<Map<string, Group>> => {
    const res = await dashboard!.client.get('/api/errors?page_size=500', READ_TOKEN);
    assert.equal(res.status, 200, res.text);
    return new Map((res.body.errors as Group[]).map((g) => [g.namespace, g]));
  };

  /** Posts each body to every webhook replica at once (as Alertmanager HA peers do); all must be 200. */
  const toAll = async (path: string, bodies: unknown[]) => {
    const replies = await Promise.all(bodies.flatMap((b) => webhooks.map((w) => w.client.post(path, b))));
    assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]), replies.find((r) => r.status !== 200)?.text ?? '');
  };

  it('alerts sprayed across the replicas, and HA duplicates sent to all three at once, count exactly once', async () => {
    const sends: Array<Promise<{ status: number; text: string }>> = [];
    for (let i = 0; i < ALERTS; i++) {
      const body = [alert(i, T - MINUTE)];
      // Every alert goes to all three replicas concurrently; a third also arrives in a mixed batch.
      for (const w of webhooks) sends.push(w.client.post('/api/v2/alerts', body));
      if (i % 3 === 0) sends.push(webhooks[i % 3].client.post('/api/v2/alerts', [alert(i, T - MINUTE), alert((i + 1) % ALERTS, T - MINUTE)]));
    }
    // A Kubernetes Event whose count rises 1 → 3, its copies arriving out of order on different replicas.
    sends.push(...[1, 3, 2].map((n, r) => webhooks[r].client.post('/webhooks/events', event(n))));
    const replies = await Promise.all(sends);
    assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]), replies.find((r) => r.status !== 200)?.text ?? '');

    // A new firing (new startsAt) of the first ten alerts, again HA-duplicated: each counts once more.
    await toAll('/api/v2/alerts', Array.from({ length: 10 }, (_, i) => [alert(i, T)]));

    const seen = await groups();
    assert.equal(seen.size, ALERTS + 1, 'one group per alert plus the event');
    for (let i = 0; i < ALERTS; i++) assert.equal(seen.get(`ha-${i}`)?.count, i < 10 ? 2 : 1, `ha-${i}`);
    assert.equal(seen.get('ha-events')?.count, 3, 'event counts rise to the highest count seen, once');
    const stats = (await dashboard!.client.get('/api/stats', READ_TOKEN)).body;
    assert.equal(stats.total, ALERTS + 1);
  });

  it('the dashboard\'s live feed (/ws) carries what the webhook replicas committed, with exact counts', async function () {
    const live = await openLiveFeed(this, dashboard!);
    try {
      // Fresh groups and a third firing of two old ones; the dashboard ingests nothing itself, so
      // everything on its socket came through NOTIFY.
      await toAll('/api/v2/alerts', [...Array.from({ length: 5 }, (_, i) => [alert(100 + i, T)]), [alert(0, T + MINUTE)], [alert(1, T + MINUTE)]]);
      const seen = await groups();
      const expected = new Map([...seen.values()]
        .filter((g) => /^ha-(10[0-4]|0|1)$/.test(g.namespace)).map((g) => [g.id, g.count]));
      assert.deepEqual([...expected.values()].sort(), [1, 1, 1, 1, 1, 3, 3]);
      await waitFor('the changed groups on /ws with their final counts', async () =>
        [...expected].every(([id, count]) => live.latest.get(id) === count), 10_000, 50);
      assert.deepEqual([...live.latest.keys()].sort((a, b) => a - b), [...expected.keys()].sort((a, b) => a - b),
        'only the changed groups');
    } finally {
      live.close();
    }
  });

  it('the dashboard refuses ingest and settings writes with 403 read_only_role', async () => {
    const c = dashboard!.client;
    const before = await groups();
    // Admission has its own listener (web.admission_listen), which this dashboard does not open.
    const writes: Array<[string, unknown, string | undefined]> = [
      ['/api/v2/alerts', [alert(1, T)], undefined],
      ['/api/v1/alerts', [alert(1, T)], undefined],
      ['/webhooks/alertmanager', { version: '4', status: 'firing', alerts: [alert(1, T)] }, undefined],
      ['/webhooks/events', event(9), undefined],
      ['/api/settings', { dryRun: false }, ADMIN_TOKEN],
    ];
    for (const [path, body, token] of writes) {
      const res = await c.post(path, body, token);
      assert.equal(res.status, 403, path);
      assert.equal(res.body?.error?.code, 'read_only_role', path);
      assert.match(res.body.error.message, /dashboard/, path);
    }
    assert.deepEqual(await groups(), before, 'nothing was written');
    assert.equal((await c.get('/api/settings', READ_TOKEN)).body.dryRun, true);
  });
});

interface LiveFeedClient {
  /** Latest count per group id from `group` messages. */
  latest: Map<number, number>;
  close(): void;
}

/** Connects to the dashboard's /ws; a build without the live feed fails in CI and skips loudly here. */
async function openLiveFeed(ctx: Mocha.Context, server: ServerProc): Promise<LiveFeedClient> {
  const ws = new WebSocket(`wss://127.0.0.1:${server.port}/ws`, ['kube-sentinel.v1'], {
    ca: readFileSync(server.caFile), headers: { authorization: `Bearer ${READ_TOKEN}` },
  });
  const latest = new Map<number, number>();
  let greeted = false;
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data)) as { type: string; group?: { id: number; count: number } };
    if (msg.type === 'hello') greeted = true;
    if (msg.type === 'group' && msg.group) latest.set(msg.group.id, msg.group.count);
  });
  const opened = await new Promise<number>((resolve) => {
    ws.once('open', () => resolve(101));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => resolve(0));
  });
  if (opened !== 101) {
    ws.terminate();
    requireComponent(ctx, `the /ws live feed on the built server (upgrade answered ${opened})`, false);
  }
  // The greeting comes once the socket is subscribed to the feed, before anything is ingested.
  await waitFor('hello', async () => greeted, 5000, 10);
  return { latest, close: () => ws.close() };
}
