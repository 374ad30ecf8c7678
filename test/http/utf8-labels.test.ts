// Prometheus 3 and OpenTelemetry send UTF-8 label names. Every ingest adapter keeps them, and rules
// match them (DESIGN §7): a 400 here would lose the alert, since senders never retry 4xx.
import assert from 'node:assert/strict';
import request from 'supertest';
import { INGEST_TOKEN, READ_TOKEN, makeApp, type TestApp } from '../support/app.ts';

const ingest = { authorization: `Bearer ${INGEST_TOKEN}` };
const read = { authorization: `Bearer ${READ_TOKEN}` };
const LABELS = { alertname: 'CheckoutErrors', namespace: 'shop', 'service.name': 'checkout', 'k8s.pod.name': 'web-1', 'région': 'île-de-france' };
const RULES = `rules:
  - name: otel-checkout
    match:
      labels: {"service.name": checkout, "région": "~^île-"}
    priority: P2
`;

describe('UTF-8 label names', () => {
  let t: TestApp;
  before(async () => { t = await makeApp(); });
  after(() => t.close());

  it('are accepted by /api/v2/alerts, /api/v1/alerts and /webhooks/alertmanager and kept in the group', async () => {
    const routes: Array<[string, unknown]> = [
      ['/api/v2/alerts', [{ labels: LABELS }]],
      ['/api/v1/alerts', [{ labels: { ...LABELS, alertname: 'V1' } }]],
      ['/webhooks/alertmanager', { version: '4', status: 'firing', receiver: 'ks', groupLabels: {}, commonLabels: {}, commonAnnotations: {},
        externalURL: 'http://am', groupKey: '{}', alerts: [{ status: 'firing', labels: { ...LABELS, alertname: 'Webhook' }, annotations: {},
          startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: 'abc' }] }],
    ];
    for (const [path, body] of routes) {
      const r = await request(t.app.handler).post(path).set(ingest).send(body as object);
      assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
    }
    const list = await request(t.app.handler).get('/api/errors?namespace=shop').set(read);
    assert.equal(list.body.total, 3);
    for (const g of list.body.errors) assert.equal(g.labels['service.name'], 'checkout');
  });

  it('can be matched by a rule\'s labels matcher', async () => {
    const hit = await request(t.app.handler).post('/api/rules/test').set(read).send({ rules: RULES, payload: [{ labels: LABELS }] });
    assert.equal(hit.status, 200, JSON.stringify(hit.body));
    assert.equal(hit.body.results[0].rule, 'otel-checkout');
    const miss = await request(t.app.handler).post('/api/rules/test').set(read)
      .send({ rules: RULES, payload: [{ labels: { ...LABELS, 'région': 'bretagne' } }] });
    assert.equal(miss.body.results[0].rule, null);
  });
});
