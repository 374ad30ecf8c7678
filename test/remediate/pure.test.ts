import assert from 'node:assert/strict';
import { createMergePatch } from '../../src/remediate/merge-patch.ts';
import { podFailure } from '../../src/remediate/pod-health.ts';
import type { ContainerInfo, PodInfo } from '../../src/remediate/kube.ts';
import { applyMergePatch } from '../fakes/kube-api-objects.ts';

const meta = { name: 'p', namespace: 'n', uid: 'u', resourceVersion: '1', labels: {}, annotations: {}, ownerReferences: [], deletionTimestamp: null, deletionGracePeriodSeconds: null, creationTimestamp: null };
const c = (over: Partial<ContainerInfo>): ContainerInfo => ({ name: 'main', init: false, ready: true, restartCount: 0, waiting: null, terminated: null, lastTerminated: null, ...over });
const podWith = (containers: ContainerInfo[], phase = 'Running'): PodInfo => ({ meta, phase, ready: containers.every((x) => x.ready), terminationGracePeriodSeconds: 30, containers });

describe('remediate/pod-health', () => {
  it('names the failure, or null for a healthy pod', () => {
    assert.equal(podFailure(podWith([c({})])), null);
    assert.equal(podFailure(podWith([c({ ready: false, waiting: 'CrashLoopBackOff', restartCount: 4 })])), 'container main: CrashLoopBackOff');
    assert.equal(podFailure(podWith([c({ ready: false, waiting: 'ErrImagePull' })])), 'container main: ErrImagePull');
    assert.match(String(podFailure(podWith([c({ ready: false, restartCount: 2, lastTerminated: 'OOMKilled' })]))), /2 restart\(s\), last exit OOMKilled/);
    assert.equal(podFailure(podWith([c({ ready: false, waiting: 'ContainerCreating' })])), null);
    assert.equal(podFailure(podWith([c({ ready: true, restartCount: 9 })])), null, 'restarted but ready again is healthy');
    assert.equal(podFailure(podWith([], 'Failed')), 'pod phase is Failed');
  });
  it('judges only the named container when the pod has it', () => {
    const p = podWith([c({ name: 'app' }), c({ name: 'sidecar', ready: false, waiting: 'CrashLoopBackOff' })]);
    assert.equal(podFailure(p, 'app'), null);
    assert.match(String(podFailure(p, 'sidecar')), /sidecar/);
    assert.match(String(podFailure(p, 'not-there')), /sidecar/);
  });
});

describe('remediate/merge-patch', () => {
  it('nulls keys the target lacks and leaves equal subtrees out', () => {
    assert.deepEqual(createMergePatch({ a: 1, b: { c: 1, d: 2 }, e: [1] }, { a: 1, b: { c: 1 }, e: [2] }), { b: { d: null }, e: [2] });
    assert.equal(createMergePatch({ a: { b: [1, { c: 2 }] } }, { a: { b: [1, { c: 2 }] } }), undefined);
  });
  it('applying the patch always yields the target (randomised round trip)', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const gen = (depth: number): unknown => {
      const r = rnd();
      if (depth > 2 || r < 0.3) return r < 0.1 ? [Math.floor(rnd() * 3)] : r < 0.2 ? 'v' + Math.floor(rnd() * 3) : Math.floor(rnd() * 3);
      const o: Record<string, unknown> = {};
      for (const k of ['a', 'b', 'c', 'd']) if (rnd() < 0.6) o[k] = gen(depth + 1);
      return o;
    };
    for (let i = 0; i < 500; i++) {
      const from = { x: gen(0) };
      const to = { x: gen(0) };
      const patch = createMergePatch(from, to);
      assert.deepEqual(patch === undefined ? from : applyMergePatch(from, patch), to);
    }
  });
});
