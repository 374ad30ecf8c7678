// planRequests(): which wanting group retargets, shares or creates a remediation request (pure).
import assert from 'node:assert/strict';
import { planRequests, type RequestTarget, targetKey, type WantingGroup } from '../../src/store/request-sharing.ts';

const target = (pod: string, grace = '30'): RequestTarget =>
  ['crashloop', 'restart-pod', JSON.stringify({ grace }), 300_000, 'shop', pod, 'api', null];
const wanting = (fingerprint: string, pod: string, own?: number): WantingGroup => ({ fingerprint, dueAt: 1, target: target(pod), own });

describe('planRequests', () => {
  it('groups with one target share one request: the queued one, else the first group\'s fresh one', () => {
    const plan = planRequests([wanting('a', 'web-1'), wanting('b', 'web-1'), wanting('c', 'web-2'), wanting('d', 'web-2')],
      new Map([[targetKey(target('web-2')), 7]]));
    assert.deepEqual(plan.fresh.map((f) => f.fingerprint), ['a']);
    assert.deepEqual([...plan.requestOf], [['a', { fresh: 'a' }], ['b', { fresh: 'a' }], ['c', 7], ['d', 7]]);
    assert.deepEqual(plan.retarget, []);
  });

  it('a group\'s own request is retargeted, and is shared only under the target it ends with', () => {
    // Request 7 is queued for web-1; group "own" retargets it to web-3 in this batch (its pod was replaced).
    const plan = planRequests([wanting('late', 'web-1'), wanting('own', 'web-3', 7), wanting('next', 'web-3')],
      new Map([[targetKey(target('web-1')), 7]]));
    assert.deepEqual(plan.retarget, [{ id: 7, target: target('web-3') }]);
    assert.deepEqual([...plan.requestOf].sort(), [['late', { fresh: 'late' }], ['next', 7], ['own', 7]]);
  });

  it('a retargeted request that was not shareable stays unshared', () => {
    const plan = planRequests([wanting('own', 'web-1', 9), wanting('other', 'web-1')], new Map());
    assert.deepEqual([...plan.requestOf].sort(), [['other', { fresh: 'other' }], ['own', 9]]);
  });
});
