// GET /api/notifications: read token, filters, paging, the one error envelope for bad queries.
import assert from 'node:assert/strict';
import request from 'supertest';
import { makeApp, READ_TOKEN, type TestApp } from '../support/app.ts';
import { makeItem, T0 } from '../store/factory.ts';

describe('GET /api/notifications', () => {
  let t: TestApp;
  let groupId = 0;
  before(async () => {
    t = await makeApp();
    [{ groupId }] = await t.store.record([makeItem({ fingerprint: 'fp-api', receivedAt: T0 })]);
    const message = { groups: [{ id: groupId, priority: 'P1', title: 'KubePodCrashLooping', namespace: 'shop', workload: 'Deployment/web' }] };
    await t.store.planNotifications({ eventIds: [], marks: [], deliveries: [
      { route: 'oncall', receiver: 'slack', kind: 'firing', groupIds: [groupId], message, detailed: 1, suppressed: 0, createdAt: T0, notBefore: T0 },
      { route: 'oncall', receiver: 'pager', kind: 'firing', groupIds: [groupId + 1000], message: { groups: [] }, detailed: 0, suppressed: 3, createdAt: T0 + 1, notBefore: T0 },
    ] }, T0);
    const d = (await t.store.claimDelivery('me', T0, 60_000))!;
    await t.store.finishDelivery(d.id, 'me', { state: 'failed', error: 'http-400: HTTP 400' });
  });
  after(() => t.close());

  it('needs the read token', async () => {
    const r = await request(t.app.handler).get('/api/notifications');
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, 'unauthorized');
  });

  it('lists deliveries newest first, filters by group, receiver and state, and pages', async () => {
    const all = await request(t.app.handler).get('/api/notifications').set('authorization', `Bearer ${READ_TOKEN}`);
    assert.equal(all.status, 200);
    assert.deepEqual([all.body.total, all.body.page, all.body.pageSize], [2, 1, 50]);
    assert.deepEqual(all.body.notifications.map((n: { receiver: string }) => n.receiver), ['pager', 'slack']);
    const slack = all.body.notifications[1];
    assert.deepEqual([slack.state, slack.attempts, slack.lastError, slack.kind], ['failed', 1, 'http-400: HTTP 400', 'firing']);
    assert.deepEqual(slack.groups, [{ id: groupId, priority: 'P1', title: 'KubePodCrashLooping', namespace: 'shop', workload: 'Deployment/web' }]);
    assert.equal(slack.createdAt, new Date(T0).toISOString());
    const byGroup = await request(t.app.handler).get(`/api/notifications?group_id=${groupId}`).set('authorization', `Bearer ${READ_TOKEN}`);
    assert.deepEqual(byGroup.body.notifications.map((n: { receiver: string }) => n.receiver), ['slack']);
    const pending = await request(t.app.handler).get('/api/notifications?state=pending&receiver=pager&page_size=1').set('authorization', `Bearer ${READ_TOKEN}`);
    assert.deepEqual([pending.body.total, pending.body.notifications[0].suppressed], [1, 3]);
  });

  it('answers 400 invalid_query for a bad filter', async () => {
    for (const q of ['state=done', 'group_id=-1', 'page_size=501', 'page=x', 'receiver=%00', 'receiver=a%0Ab']) {
      const r = await request(t.app.handler).get(`/api/notifications?${q}`).set('authorization', `Bearer ${READ_TOKEN}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.body.error.code, 'invalid_query', q);
    }
  });
});
