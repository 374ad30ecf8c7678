// planRequests(): which wanting group keeps, retargets, shares or creates a remediation request (pure).
import assert from 'node:assert/strict';
import { type OwnRequest, planRequests, type RequestTarget, targetKey, type WantingGroup } from '../../src/store/request-sharing.ts';

const target = (pod: string, grace = '30'): RequestTarget =>
  ['crashloop', 'restart-pod', JSON.stringify({ grace }), 300_000, 'shop', pod, 'api', null];
const own = (id: number, pod: string, o: Partial<OwnRequest> = {}): OwnRequest => ({ id, target: target(pod), shared: false, shareable: true, ...o });
const wanting = (fingerprint: string, pod: string, mine?: OwnRequest): WantingGroup => ({ fingerprint, dueAt: 1, target: target(pod), own: mine });
const queued = (...pairs: Array<[string, number]>) => new Map(pairs.map(([pod, id]) => [targetKey(target(pod)), id] as const));

describe('planRequests', () => {
  it('groups with one target share one request: the queued one, else the first group\'s fresh one', () => {
    const plan = planRequests([wanting('a', 'web-1'), wanting('b', 'web-1'), wanting('c', 'web-2'), wanting('d', 'web-2'), wanting('e', 'web-3')],
      queued(['web-2', 7]));
    assert.deepEqual(plan.fresh.map((f) => [f.fingerprint, f.shared]), [['a', true], ['e', false]]);
    assert.deepEqual([...plan.requestOf], [['a', { fresh: 'a' }], ['b', { fresh: 'a' }], ['c', 7], ['d', 7], ['e', { fresh: 'e' }]]);
    assert.deepEqual([plan.retarget, plan.nowShared], [[], [7]]);
  });

  it('a group\'s own request follows its newest item, and is shared only under the target it ends with', () => {
    // Request 7 is queued for web-1; its group "mine" moves it to web-3 in this batch (its pod was replaced).
    const plan = planRequests([wanting('late', 'web-1'), wanting('mine', 'web-3', own(7, 'web-1')), wanting('next', 'web-3')],
      queued(['web-1', 7]));
    assert.deepEqual(plan.retarget, [{ id: 7, target: target('web-3'), shared: true }]);
    assert.deepEqual([...plan.requestOf].sort(), [['late', { fresh: 'late' }], ['mine', 7], ['next', 7]]);
    assert.deepEqual(plan.nowShared, [], 'marked shared by its retarget, not twice');
  });

  it('an own request on the same target is kept as it is (no write), and may be shared', () => {
    const plan = planRequests([wanting('mine', 'web-1', own(7, 'web-1')), wanting('other', 'web-1')], new Map());
    assert.deepEqual([plan.retarget, plan.fresh, plan.nowShared], [[], [], [7]]);
    assert.deepEqual([...plan.requestOf].sort(), [['mine', 7], ['other', 7]]);
  });

  it('a request other groups share stays where they need it: its group gets another one', () => {
    const plan = planRequests([wanting('mine', 'web-2', own(7, 'web-1', { shared: true }))], queued(['web-2', 9]));
    assert.deepEqual([plan.retarget, [...plan.requestOf]], [[], [['mine', 9]]]);
    const alone = planRequests([wanting('mine', 'web-2', own(7, 'web-1', { shared: true }))], new Map());
    assert.deepEqual(alone.fresh.map((f) => f.fingerprint), ['mine']);
  });

  it('a request that may not be shared (tried before, or a human\'s) is retargeted but not offered', () => {
    const plan = planRequests([wanting('mine', 'web-2', own(7, 'web-1', { shareable: false })), wanting('other', 'web-2')], new Map());
    assert.deepEqual(plan.retarget, [{ id: 7, target: target('web-2'), shared: false }]);
    assert.deepEqual([...plan.requestOf].sort(), [['mine', 7], ['other', { fresh: 'other' }]]);
  });

  it('a retarget never drops another request\'s place in the queue map', () => {
    // 7 moves web-1 → web-2 and 8 moves web-2 → web-3: web-2 is then 7's, for a group that wants web-2.
    const plan = planRequests([wanting('a', 'web-2', own(7, 'web-1')), wanting('b', 'web-3', own(8, 'web-2')), wanting('c', 'web-2')],
      queued(['web-1', 7], ['web-2', 8]));
    assert.deepEqual(plan.requestOf.get('c'), 7);
    assert.deepEqual(plan.fresh, []);
  });

  it('a request already marked shared is not marked again (a write, and on PostgreSQL a row lock)', () => {
    const plan = planRequests([wanting('a', 'web-1'), wanting('mine', 'web-2', own(8, 'web-2', { shared: true })), wanting('b', 'web-2')],
      queued(['web-1', 7]), new Set([7]));
    assert.deepEqual([plan.nowShared, plan.retarget], [[], []]);
    assert.deepEqual([...plan.requestOf].sort(), [['a', 7], ['b', 8], ['mine', 8]]);
  });
});
