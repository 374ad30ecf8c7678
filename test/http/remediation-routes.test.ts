// supertest on the remediation API (DESIGN §6a): the queue, approve/reject with who decided, "run
// remediation now", suspensions; auth (read vs admin vs ingest tokens, dashboard role).
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Store } from '../../src/store/types.ts';
import { ADMIN_TOKEN, INGEST_TOKEN, READ_TOKEN, makeApp, type TestApp } from '../support/app.ts';

const read = { authorization: `Bearer ${READ_TOKEN}` };
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const ingest = { authorization: `Bearer ${INGEST_TOKEN}` };

function crashloop(pod: string) {
  return { labels: { alertname: 'KubePodCrashLooping', namespace: 'shop', pod, severity: 'critical' }, annotations: { summary: `Pod shop/${pod} is in CrashLoopBackOff` } };
}

/** Claims the oldest due request and parks it awaiting approval, as the worker does. */
async function awaitApproval(store: Store, plan: string, expiresAt = Date.now() + 3_600_000): Promise<number> {
  const r = await store.claimRequest('leader', Date.now() + 1000, 60_000);
  assert.ok(r, 'a request is queued');
  assert.equal(await store.finishRequest(r.id, 'leader', { state: 'awaiting-approval', plan, expiresAt }), true);
  return r.id;
}

describe('remediation API', () => {
  let t: TestApp;
  let woken = 0;
  beforeEach(async () => {
    woken = 0;
    t = await makeApp({ deps: { remediation: { wake: () => { woken++; }, status: () => ({}), healthy: () => true } } });
  });
  afterEach(() => t.close());
  const http = () => request(t.app.handler);

  async function ingestCrashloop(pod: string): Promise<number> {
    const r = await http().post('/api/v2/alerts').set(ingest).send([crashloop(pod)]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const g = await http().get(`/api/errors?pod=${pod}`).set(read);
    return g.body.errors[0].id as number;
  }

  it('approve: pending again with who decided (a non-secret id), audited, the worker woken; only once', async () => {
    await ingestCrashloop('web-1');
    const id = await awaitApproval(t.store, 'would delete pod shop/web-1 (CrashLoopBackOff), grace 30s');
    const list = await http().get('/api/remediations?state=awaiting-approval').set(read);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.remediations.map((r: { id: number; plan: string }) => [r.id, r.plan]), [[id, 'would delete pod shop/web-1 (CrashLoopBackOff), grace 30s']]);

    woken = 0; // ingest woke the worker too
    assert.equal((await http().post(`/api/remediations/${id}/approve`).set(read).send({})).status, 401, 'a read token cannot approve');
    assert.equal((await http().post(`/api/remediations/${id}/approve`).set(ingest).send({})).status, 401, 'nor an ingest token');
    const ok = await http().post(`/api/remediations/${id}/approve`).set(admin).send({ comment: 'looks right' });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.state, 'pending');
    assert.equal(ok.body.approved, true);
    assert.match(ok.body.decidedBy, /^admin:[0-9a-f]{8}$/);
    assert.ok(!ok.body.decidedBy.includes(ADMIN_TOKEN));
    assert.equal(woken, 1);
    const again = await http().post(`/api/remediations/${id}/approve`).set(admin);
    assert.deepEqual([again.status, again.body.error.code], [409, 'not_awaiting_approval']);
    const history = await http().get('/api/history?outcome=approved').set(read);
    assert.equal(history.body.total, 1);
    assert.equal(history.body.entries[0].actor, ok.body.decidedBy);
    assert.match(history.body.entries[0].message, /approved by admin:[0-9a-f]{8}: looks right/);
  });

  it('reject: never runs; unknown ids 404, unknown body keys 400', async () => {
    await ingestCrashloop('web-2');
    const id = await awaitApproval(t.store, 'would delete pod shop/web-2');
    assert.equal((await http().post('/api/remediations/999999/reject').set(admin)).status, 404);
    const bad = await http().post(`/api/remediations/${id}/reject`).set(admin).send({ comment: 'x', turbo: true });
    assert.deepEqual([bad.status, bad.body.error.code], [400, 'bad_request']);
    const no = await http().post(`/api/remediations/${id}/reject`).set(admin);
    assert.deepEqual([no.status, no.body.state], [200, 'rejected']);
    assert.equal(await t.store.claimRequest('leader', Date.now() + 1e6, 1000), null);
    assert.equal((await http().get('/api/remediations?state=rejected').set(read)).body.total, 1);
    assert.equal((await http().get('/api/remediations?state=bogus').set(read)).status, 400);
  });

  it('POST /api/errors/:id/remediate queues the rule\'s action now (force recorded); a group without an action is a 409', async () => {
    const groupId = await ingestCrashloop('web-3');
    // Drain what ingest queued, so the manual request is the only pending one.
    const queued = await t.store.claimRequest('leader', Date.now() + 1000, 60_000);
    await t.store.finishRequest(queued!.id, 'leader', { state: 'done' });
    woken = 0; // ingest woke the worker too
    assert.equal((await http().post(`/api/errors/${groupId}/remediate`).set(read).send({})).status, 401);
    const r = await http().post(`/api/errors/${groupId}/remediate`).set(admin).send({ force: true });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.deepEqual([r.body.state, r.body.force, r.body.action, r.body.pod], ['pending', true, 'restart-pod', 'web-3']);
    assert.match(r.body.requestedBy, /^admin:[0-9a-f]{8}$/);
    assert.equal(woken, 1);
    const claimed = await t.store.claimRequest('leader', Date.now() + 1000, 60_000);
    assert.deepEqual([claimed?.id, claimed?.force], [r.body.id, true]);

    await http().post('/api/v2/alerts').set(ingest).send([{ labels: { alertname: 'Weird', namespace: 'x' }, annotations: { summary: 'something odd' } }]);
    const plain = (await http().get('/api/errors?namespace=x').set(read)).body.errors[0].id;
    const none = await http().post(`/api/errors/${plain}/remediate`).set(admin).send({});
    assert.deepEqual([none.status, none.body.error.code], [409, 'no_remediation']);
    assert.equal((await http().post('/api/errors/123456/remediate').set(admin)).status, 404);
    assert.equal((await http().post(`/api/errors/${groupId}/remediate`).set(admin).send({ force: 'yes' })).status, 400);
  });

  it('suspensions are listed and lifted by an admin, once', async () => {
    const s = await t.store.suspend({ rule: 'crashloop-backoff', namespace: 'shop', target: 'Deployment/web', reason: '2 ineffective', at: Date.now() });
    const list = await http().get('/api/suspensions?active=true').set(read);
    assert.deepEqual(list.body.suspensions.map((x: { id: number }) => x.id), [s.id]);
    assert.equal((await http().delete(`/api/suspensions/${s.id}`).set(read)).status, 401);
    const lifted = await http().delete(`/api/suspensions/${s.id}`).set(admin);
    assert.equal(lifted.status, 200);
    assert.match(lifted.body.liftedBy, /^admin:[0-9a-f]{8}$/);
    assert.equal((await http().delete(`/api/suspensions/${s.id}`).set(admin)).status, 404);
    assert.deepEqual((await http().get('/api/suspensions?active=true').set(read)).body.suspensions, []);
    assert.equal((await http().get('/api/suspensions?active=maybe').set(read)).status, 400);
  });

  it('serves the one vocabulary of named reasons (guards, resolution, verify-before-act, settling, outcomes)', async () => {
    const r = await http().get('/api/remediation-reasons').set(read);
    assert.equal(r.status, 200);
    for (const reason of ['cooldown', 'pod-not-found', 'pod-healthy', 'target-changed', 'suspended', 'approval-pending']) assert.ok(r.body.skip.includes(reason), reason);
    assert.ok(r.body.outcome.includes('recurred'));
    assert.equal(new Set(r.body.skip).size, r.body.skip.length, 'no duplicates');
  });

  it('an async route that rejects renders through the one error envelope (Express 5 forwards the rejection)', async () => {
    // A thrown AppError before any await, and a store that rejects with a plain Error after one.
    const early = await http().post('/api/remediations/not-a-number/approve').set(admin).send({});
    assert.deepEqual([early.status, early.body.error.code], [404, 'not_found']);
    t.store.listRequests = async () => { throw new Error('disk on fire'); };
    const r = await http().get('/api/remediations').set(read);
    assert.equal(r.status, 500);
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.deepEqual(Object.keys(r.body), ['error']);
    assert.equal(r.body.error.code, 'internal');
    assert.ok(!JSON.stringify(r.body).includes('disk on fire'), 'the cause is not leaked to the client');
    assert.ok(t.logs.some((l) => l.includes('unhandled error in API route') && l.includes('disk on fire')), 'the error middleware logged it');
    assert.equal((await http().get('/api/suspensions').set(read)).status, 200, 'the app still serves');
  });

  it('the dashboard role refuses every remediation write', async () => {
    const dash = await makeApp({ config: { role: 'dashboard' } as never, store: undefined });
    try {
      const r = await request(dash.app.handler).post('/api/remediations/1/approve').set(admin).send({});
      assert.deepEqual([r.status, r.body.error.code], [403, 'read_only_role']);
      assert.equal((await request(dash.app.handler).delete('/api/suspensions/1').set(admin)).status, 403);
    } finally {
      await dash.close();
    }
  });
});
