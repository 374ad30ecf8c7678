// supertest on the read API, settings, probes and metrics.
import assert from 'node:assert/strict';
import request from 'supertest';
import { ADMIN_TOKEN, INGEST_TOKEN, READ_TOKEN, makeApp, type TestApp } from '../support/app.ts';

const read = { authorization: `Bearer ${READ_TOKEN}` };
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

function alert(name: string, ns: string, summary: string, extra: Record<string, string> = {}) {
  return { labels: { alertname: name, namespace: ns, ...extra }, annotations: { summary } };
}

describe('read API', () => {
  let t: TestApp;
  before(async () => {
    t = await makeApp();
    const r = await request(t.app.handler).post('/api/v2/alerts').set('authorization', `Bearer ${INGEST_TOKEN}`).send([
      alert('PodCrash', 'shop', 'Pod shop/web-7d9f8b6c5-x2k4q is in CrashLoopBackOff', { pod: 'web-7d9f8b6c5-x2k4q' }),
      alert('Oom', 'shop', 'Container killed: OOMKilled', { pod: 'db-0' }),
      alert('Slow', 'billing', 'upstream request timed out after 30s'),
      alert('Weird', 'billing', 'something odd happened'),
    ]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
  after(() => t.close());

  const get = (path: string) => request(t.app.handler).get(path).set(read);

  it('needs the read token when one is configured', async () => {
    assert.equal((await request(t.app.handler).get('/api/errors')).status, 401);
    assert.equal((await request(t.app.handler).get('/api/errors').set('authorization', `Bearer ${INGEST_TOKEN}`)).status, 401);
    assert.equal((await request(t.app.handler).get('/api/errors').set(admin)).status, 200);
  });

  it('is open when no read token is configured', async () => {
    const open = await makeApp({ tokens: { ingest: [INGEST_TOKEN], read: [], admin: [] } });
    try {
      assert.equal((await request(open.app.handler).get('/api/errors')).status, 200);
    } finally {
      await open.close();
    }
  });

  it('lists groups by priority with the documented envelope', async () => {
    const r = await get('/api/errors');
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body).sort(), ['errors', 'page', 'pageSize', 'total']);
    assert.equal(r.body.total, 4);
    const priorities = r.body.errors.map((g: { priority: string }) => g.priority);
    assert.deepEqual(priorities, [...priorities].sort(), 'P1 first');
    assert.equal(r.body.errors[0].priority, 'P1');
  });

  it('filters by priority, namespace, pod, rule, source, status, q and since', async () => {
    assert.equal((await get('/api/errors?priority=P1')).body.total, 2);
    assert.equal((await get('/api/errors?priority=P3,P4')).body.total, 2);
    assert.equal((await get('/api/errors?namespace=billing')).body.total, 2);
    assert.equal((await get('/api/errors?pod=db-0')).body.total, 1);
    assert.equal((await get('/api/errors?rule=oom-killed')).body.errors[0]?.title, 'Oom');
    assert.equal((await get('/api/errors?source=event')).body.total, 0);
    assert.equal((await get('/api/errors?status=firing')).body.total, 4);
    assert.equal((await get('/api/errors?q=timed%20out')).body.errors[0]?.title, 'Slow');
    assert.equal((await get('/api/errors?since=1h')).body.total, 4);
    assert.equal((await get(`/api/errors?since=${new Date(Date.now() + 3_600_000).toISOString()}`)).body.total, 0);
  });

  it('returns [] (never null) for an empty page and paginates', async () => {
    const empty = await get('/api/errors?namespace=nowhere');
    assert.deepEqual(empty.body.errors, []);
    assert.equal(empty.body.total, 0);
    const p1 = await get('/api/errors?page_size=3&page=1');
    const p2 = await get('/api/errors?page_size=3&page=2');
    assert.equal(p1.body.errors.length, 3);
    assert.equal(p2.body.errors.length, 1);
    assert.equal(p2.body.total, 4);
    assert.equal(p2.body.pageSize, 3);
  });

  it('rejects invalid query values with 400 invalid_query naming the parameter', async () => {
    for (const q of ['priority=P9', 'status=open', 'source=logs', 'page=0', 'page_size=100000', 'since=yesterday', 'sort=name']) {
      const r = await get(`/api/errors?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.body.error.code, 'invalid_query');
      assert.equal(r.body.error.details[0].path, q.split('=')[0]);
    }
  });

  it('shows one group with occurrences, why and remediation history', async () => {
    const first = (await get('/api/errors?priority=P1&pod=web-7d9f8b6c5-x2k4q')).body.errors[0];
    const r = await get(`/api/errors/${first.id}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.id, first.id);
    assert.ok(Array.isArray(r.body.occurrences) && r.body.occurrences.length === 1);
    assert.equal(r.body.why.matched, first.rule);
    assert.ok(Array.isArray(r.body.remediations));
    assert.equal((await get('/api/errors/999999')).status, 404);
    assert.equal((await get('/api/errors/abc')).status, 404);
  });

  it('reports stats, rules with hit counts and empty history', async () => {
    const stats = await get('/api/stats');
    assert.equal(stats.body.total, 4);
    assert.equal(stats.body.firing, 4);
    assert.equal(stats.body.settings.dryRun, true);
    const rules = await get('/api/rules');
    const crash = rules.body.rules.find((x: { name: string }) => x.name === 'crashloop-backoff');
    assert.equal(crash.hits, 1);
    const history = await get('/api/history');
    assert.deepEqual(history.body.entries, []);
    assert.equal(history.body.total, 0);
  });

  it('tests rules on a sample message, a sender payload and candidate rules', async () => {
    const msg = await request(t.app.handler).post('/api/rules/test').set(read).send({ message: 'container was OOMKilled', labels: { namespace: 'x' } });
    assert.equal(msg.status, 200);
    assert.equal(msg.body.results[0].rule, 'oom-killed');
    const payload = await request(t.app.handler).post('/api/rules/test').set(read).send({ payload: [alert('A', 'n', 'CrashLoopBackOff seen')] });
    assert.equal(payload.body.results[0].priority, 'P1');
    const candidate = await request(t.app.handler).post('/api/rules/test').set(read)
      .send({ message: 'hello world', rules: 'rules:\n  - name: hello\n    match: {pattern: "hello"}\n    priority: P2\n' });
    assert.equal(candidate.body.results[0].rule, 'hello');
    const bad = await request(t.app.handler).post('/api/rules/test').set(read).send({ message: 'x', rules: 'rules:\n  - name: bad\n    match: {pattern: "("}\n    priority: P2\n' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_rules');
  });

  describe('settings', () => {
    it('reads settings with the read token', async () => {
      const r = await get('/api/settings');
      assert.equal(r.status, 200);
      assert.deepEqual({ ...r.body, writable: undefined }, { enabled: true, dryRun: true, maxActionsPerHour: 10, requireApproval: false, writable: undefined });
    });
    it('needs the admin token to change them', async () => {
      assert.equal((await request(t.app.handler).post('/api/settings').send({ enabled: false })).status, 401);
      assert.equal((await request(t.app.handler).post('/api/settings').set(read).send({ enabled: false })).status, 401);
      const ok = await request(t.app.handler).post('/api/settings').set(admin).send({ dryRun: false, max_actions_per_hour: 3 });
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body, { enabled: true, dryRun: false, maxActionsPerHour: 3, requireApproval: false });
      assert.equal((await get('/api/settings')).body.maxActionsPerHour, 3);
      const alias = await request(t.app.handler).post('/api/settings').set(admin).send({ dry_run: true });
      assert.equal(alias.body.dryRun, true);
    });
    it('rejects unknown keys with 400 naming them', async () => {
      const r = await request(t.app.handler).post('/api/settings').set(admin).send({ enabled: true, turbo: 1 });
      assert.equal(r.status, 400);
      assert.equal(r.body.error.code, 'invalid_settings');
      assert.match(r.body.error.details[0].path, /turbo/);
    });
    it('is 403 when no admin token is configured', async () => {
      const none = await makeApp({ tokens: { ingest: [INGEST_TOKEN], read: [], admin: [] } });
      try {
        const r = await request(none.app.handler).post('/api/settings').set(admin).send({ enabled: false });
        assert.equal(r.status, 403);
        assert.equal(r.body.error.code, 'admin_disabled');
      } finally {
        await none.close();
      }
    });
  });

  it('serves probes and Prometheus metrics without auth', async () => {
    assert.equal((await request(t.app.handler).get('/healthz')).status, 200);
    assert.equal((await request(t.app.handler).get('/health')).status, 200);
    const ready = await request(t.app.handler).get('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.checks.store, 'ok');
    const m = await request(t.app.handler).get('/metrics');
    assert.equal(m.status, 200);
    assert.match(m.text, /kube_sentinel_ingest_signals_total\{channel="alerts-v2",outcome="new-group"\} 4/);
    assert.match(m.text, /kube_sentinel_error_groups\{priority="P1",status="firing"\} 2/);
  });

  it('fails liveness, with the reason, once the store can never answer again (a dead store thread)', async () => {
    const leader = { wake: () => {}, status: () => ({}), healthy: () => false };
    const failing = await makeApp({ deps: { remediation: leader } });
    try {
      let failure: string | null = null;
      failing.store.failure = () => failure;
      const live = await request(failing.app.handler).get('/healthz');
      assert.deepEqual([live.status, live.body.status], [503, 'leader failed to renew its lease']);
      failure = 'sqlite worker exited with code 1';
      const dead = await request(failing.app.handler).get('/health');
      assert.deepEqual([dead.status, dead.body.status], [503, 'sqlite worker exited with code 1']);
      leader.healthy = () => true;
      assert.equal((await request(failing.app.handler).get('/healthz')).status, 503, 'a dead store is not live whoever leads');
      failure = null;
      assert.equal((await request(failing.app.handler).get('/healthz')).status, 200);
    } finally {
      await failing.close();
    }
  });

  it('answers unknown routes with the JSON envelope', async () => {
    const r = await get('/api/nope');
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'not_found');
  });

  it('honours web.base_path', async () => {
    const b = await makeApp({ config: { web: { base_path: '/sentinel' } } });
    try {
      assert.equal((await request(b.app.handler).get('/sentinel/healthz')).status, 200);
      assert.equal((await request(b.app.handler).get('/sentinel/api/errors').set(read)).status, 200);
      assert.equal((await request(b.app.handler).get('/api/errors').set(read)).status, 404);
    } finally {
      await b.close();
    }
  });
});
