// supertest on every ingest route: auth, content type, JSON, body limit, unknown fields, partial
// batches, AdmissionReview dryRun, and the 2xx-after-commit / 503 contract.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { INGEST_TOKEN, READ_TOKEN, makeApp, type TestApp } from '../support/app.ts';

const sample = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));
const auth = { authorization: `Bearer ${INGEST_TOKEN}` };

const INGEST_ROUTES = ['/api/v2/alerts', '/api/v1/alerts', '/webhooks/alertmanager', '/webhooks/events'];

function event(over: Record<string, unknown> = {}) {
  return {
    apiVersion: 'v1', kind: 'Event',
    metadata: { name: 'web-abc.17a', namespace: 'shop', uid: 'b1c2d3e4-0000-4000-8000-000000000001' },
    involvedObject: { kind: 'Pod', name: 'web-7d9f8b6c5-x2k4q', namespace: 'shop', fieldPath: 'spec.containers{app}' },
    reason: 'BackOff', message: 'Back-off restarting failed container app in pod web-7d9f8b6c5-x2k4q',
    type: 'Warning', count: 3, firstTimestamp: '2026-11-21T10:00:00Z', lastTimestamp: '2026-11-21T10:05:00Z',
    ...over,
  };
}

function review(over: Record<string, unknown> = {}) {
  return {
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002', operation: 'CREATE', dryRun: false,
      kind: { group: '', version: 'v1', kind: 'Event' }, resource: { group: '', version: 'v1', resource: 'events' },
      namespace: 'shop', object: event(), ...over,
    },
  };
}

describe('ingest routes', () => {
  let t: TestApp;
  beforeEach(async () => { t = await makeApp({ config: { web: { body_limit: '64kb' } } }); });
  afterEach(() => t.close());
  const total = async () => (await request(t.app.handler).get('/api/errors').set('authorization', `Bearer ${READ_TOKEN}`)).body.total;

  for (const route of INGEST_ROUTES) {
    describe(route, () => {
      it('rejects a missing token with 401 and the error envelope', async () => {
        const r = await request(t.app.handler).post(route).send([]);
        assert.equal(r.status, 401);
        assert.equal(r.body.error.code, 'unauthorized');
        assert.match(r.headers['www-authenticate'], /Bearer/);
      });
      it('rejects a wrong token with 401', async () => {
        const r = await request(t.app.handler).post(route).set('authorization', `Bearer ${READ_TOKEN}`).send([]);
        assert.equal(r.status, 401);
      });
      it('rejects malformed JSON with 400 invalid_json', async () => {
        const r = await request(t.app.handler).post(route).set(auth).set('content-type', 'application/json').send('{"alerts": [');
        assert.equal(r.status, 400);
        assert.equal(r.body.error.code, 'invalid_json');
      });
      it('rejects a non-JSON content type with 415', async () => {
        const r = await request(t.app.handler).post(route).set(auth).set('content-type', 'text/plain').send('hello');
        assert.equal(r.status, 415);
        assert.equal(r.body.error.code, 'unsupported_media_type');
      });
      it('rejects an oversize body with 413', async () => {
        const big = JSON.stringify([{ labels: { alertname: 'Big' }, annotations: { summary: 'x'.repeat(70 * 1024) } }]);
        const r = await request(t.app.handler).post(route).set(auth).set('content-type', 'application/json').send(big);
        assert.equal(r.status, 413);
        assert.equal(r.body.error.code, 'payload_too_large');
      });
      it('rejects a body of the wrong shape with 400 and details', async () => {
        const r = await request(t.app.handler).post(route).set(auth).send({ hello: 'world' } as never);
        assert.equal(r.status, 400);
        assert.equal(r.body.error.code, 'invalid_payload');
        assert.ok(r.body.error.details.length >= 1);
      });
      it('answers 405 to GET', async () => {
        const r = await request(t.app.handler).get(route).set(auth);
        assert.equal(r.status, 405);
        assert.equal(r.body.error.code, 'method_not_allowed');
      });
    });
  }

  it('accepts the real Prometheus 2.42 payload, unknown fields included', async () => {
    // At capture time the alert was firing (endsAt is Prometheus' "valid until", 4 minutes ahead).
    const captured = Date.parse('2026-11-21T22:27:45.438Z');
    await t.close();
    t = await makeApp({ deps: { now: () => captured } });
    const body = sample('prometheus-v2-alerts.json');
    body[0].someFutureField = { nested: true };
    const r = await request(t.app.handler).post('/api/v2/alerts').set(auth).send(body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.accepted, 1);
    const list = await request(t.app.handler).get('/api/errors').set('authorization', `Bearer ${READ_TOKEN}`);
    assert.equal(list.body.total, 1);
    assert.equal(list.body.errors[0].priority, 'P1');
    assert.equal(list.body.errors[0].status, 'firing');
  });

  it('accepts the real Alertmanager 0.25 webhook and counts re-deliveries once', async () => {
    const body = sample('alertmanager-webhook.json');
    body.newTopLevelField = 'ignored';
    for (let i = 0; i < 3; i++) {
      const r = await request(t.app.handler).post('/webhooks/alertmanager').set(auth).send(body);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    const list = await request(t.app.handler).get('/api/errors').set('authorization', `Bearer ${READ_TOKEN}`);
    assert.equal(list.body.total, 1);
    assert.equal(list.body.errors[0].count, 1);
    assert.equal(list.body.errors[0].alertFingerprint, 'e6d7d72be312c821');
    const resolved = await request(t.app.handler).post('/webhooks/alertmanager').set(auth).send(sample('alertmanager-webhook-resolved.json'));
    assert.equal(resolved.status, 200);
    const after = await request(t.app.handler).get('/api/errors?status=resolved').set('authorization', `Bearer ${READ_TOKEN}`);
    assert.equal(after.body.total, 1);
    assert.equal(after.body.errors[0].count, 1);
  });

  it('keeps the valid items of a partly valid batch and names the invalid ones', async () => {
    const r = await request(t.app.handler).post('/api/v2/alerts').set(auth).send([
      { labels: { alertname: 'Good1', namespace: 'a' }, annotations: { summary: 'fine' } },
      { labels: {}, annotations: {} },
      { labels: { alertname: 'Good2', namespace: 'a' }, startsAt: 'not-a-date' },
      { labels: { alertname: 'Good3', namespace: 'a' } },
    ]);
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'invalid_payload');
    const paths = r.body.error.details.map((d: { path: string }) => d.path).join(' ');
    assert.match(paths, /\[1\]/);
    assert.match(paths, /\[2\]/);
    assert.equal(await total(), 2);
  });

  it('records Kubernetes Events: one, an array and a List; count rises add occurrences', async () => {
    assert.equal((await request(t.app.handler).post('/webhooks/events').set(auth).send(event())).status, 200);
    const list = { apiVersion: 'v1', kind: 'EventList', items: [event({ count: 5 }), event({ count: 5 })] };
    assert.equal((await request(t.app.handler).post('/webhooks/events').set(auth).send(list)).status, 200);
    const r = await request(t.app.handler).get('/api/errors').set('authorization', `Bearer ${READ_TOKEN}`);
    assert.equal(r.body.total, 1);
    assert.equal(r.body.errors[0].count, 5, 'count 3, then 5 (twice) = 5 occurrences');
    assert.equal(r.body.errors[0].source, 'event');
  });

  describe('/webhooks/admission', () => {
    // Its own listener (web.admission_listen): the API server sends no bearer token.
    let adm: TestApp;
    let clock = 1_800_000_000_000;
    beforeEach(async () => {
      adm = await makeApp({ config: { web: { admission_listen: '127.0.0.1:0', admission_rate_limit: 5 } }, deps: { now: () => clock } });
    });
    afterEach(() => adm.close());
    const admTotal = async () => (await request(adm.app.handler).get('/api/errors').set('authorization', `Bearer ${READ_TOKEN}`)).body.total;
    const post = (body: unknown) => request(adm.app.admissionHandler!).post('/webhooks/admission').send(body as object);

    it('does not exist without web.admission_listen, and never on the ingest listener', async () => {
      assert.equal(t.app.admissionHandler, null);
      for (const app of [t.app, adm.app]) {
        const r = await request(app.handler).post('/webhooks/admission').send(review());
        assert.equal(r.status, 404);
        assert.equal(r.body.error.code, 'not_found');
      }
      assert.equal(await total(), 0);
      assert.equal(await admTotal(), 0);
    });
    it('always allows, echoes the uid and records the Event, marked as admission-sourced', async () => {
      const r = await post(review());
      assert.equal(r.status, 200);
      assert.equal(r.body.apiVersion, 'admission.k8s.io/v1');
      assert.equal(r.body.kind, 'AdmissionReview');
      assert.equal(r.body.response.uid, '705ab4f5-6393-11e8-b7cc-42010a800002');
      assert.equal(r.body.response.allowed, true);
      assert.equal(await admTotal(), 1);
      const list = await request(adm.app.handler).get('/api/errors').set('authorization', `Bearer ${READ_TOKEN}`);
      assert.equal(list.body.errors[0].labels['kube-sentinel.io/via'], 'admission');
    });
    it('serves only the admission route and probes on its listener', async () => {
      assert.equal((await request(adm.app.admissionHandler!).get('/healthz')).status, 200);
      const other = await request(adm.app.admissionHandler!).post('/api/v2/alerts').set(auth).send([{ labels: { alertname: 'X' } }]);
      assert.equal(other.status, 404);
      assert.equal((await request(adm.app.admissionHandler!).get('/webhooks/admission')).status, 405);
    });
    it('records nothing when dryRun is set', async () => {
      const r = await post(review({ dryRun: true }));
      assert.equal(r.status, 200);
      assert.equal(r.body.response.allowed, true);
      assert.equal(await admTotal(), 0);
    });
    it('rejects a review without a uid with 400', async () => {
      const r = await post({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} });
      assert.equal(r.status, 400);
      assert.equal(r.body.error.code, 'invalid_payload');
    });
    it('rate-limits each source: past the burst 429 rate_limited with Retry-After, refilled over time', async () => {
      const codes: number[] = [];
      for (let i = 0; i < 14; i++) codes.push((await post(review({ uid: `u-${i}` }))).status);
      assert.deepEqual(codes.slice(0, 10), Array(10).fill(200), 'burst = 2 × admission_rate_limit');
      assert.ok(codes.slice(10).every((c) => c === 429), codes.join(','));
      const refused = await post(review({ uid: 'u-late' }));
      assert.equal(refused.body.error.code, 'rate_limited');
      assert.ok(Number(refused.headers['retry-after']) >= 1);
      clock += 1000; // 5 tokens per second
      assert.equal((await post(review({ uid: 'u-after' }))).status, 200);
    });
  });

  it('answers 503 store_unavailable when the store cannot commit, and nothing is half-recorded', async () => {
    await t.store.close();
    const r = await request(t.app.handler).post('/api/v2/alerts').set(auth).send([{ labels: { alertname: 'X' } }]);
    assert.equal(r.status, 503);
    assert.equal(r.body.error.code, 'store_unavailable');
    assert.ok(r.headers['retry-after']);
    const ready = await request(t.app.handler).get('/readyz');
    assert.equal(ready.status, 503);
    t = await makeApp();
  });

  it('answers 503 draining once the server drains, and readyz turns 503 first', async () => {
    t.app.beginTermination();
    assert.equal((await request(t.app.handler).get('/readyz')).status, 503);
    const still = await request(t.app.handler).post('/api/v2/alerts').set(auth).send([{ labels: { alertname: 'Y' } }]);
    assert.equal(still.status, 200, 'requests are still served while endpoints update');
    t.app.beginDrain();
    const r = await request(t.app.handler).post('/api/v2/alerts').set(auth).send([{ labels: { alertname: 'Z' } }]);
    assert.equal(r.status, 503);
    assert.equal(r.body.error.code, 'draining');
  });

  it('refuses ingest on the dashboard role with 403', async () => {
    const d = await makeApp({ config: { role: 'dashboard', web: { admission_listen: '127.0.0.1:0' } } });
    try {
      const r = await request(d.app.handler).post('/api/v2/alerts').set(auth).send([{ labels: { alertname: 'X' } }]);
      assert.equal(r.status, 403);
      assert.equal(r.body.error.code, 'read_only_role');
      const a = await request(d.app.admissionHandler!).post('/webhooks/admission').send(review());
      assert.equal(a.status, 403);
      assert.equal(a.body.error.code, 'read_only_role');
    } finally {
      await d.close();
    }
  });
});
