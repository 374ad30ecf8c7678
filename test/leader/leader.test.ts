import assert from 'node:assert/strict';
import { ClientNodeGateway, kubeConfigForUrl } from '../../src/cluster/gateway.ts';
import { LeaderElector, NotLeaderError, StaticLeadership } from '../../src/leader/elector.ts';
import { candidateWait, decide, makeIdentity, observe } from '../../src/leader/record.ts';
import type { LeaseClient } from '../../src/leader/lease.ts';
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { FakeClock, countPending } from '../remediate/fake-clock.ts';

const NS = 'ops';
const NAME = 'kube-sentinel-leader';

describe('leader/elector (Lease election, client-go algorithm)', () => {
  let api: FakeKubeApi;
  let gw: LeaseClient;
  let clock: FakeClock;
  const electors: LeaderElector[] = [];

  beforeEach(async () => {
    clock = new FakeClock();
    api = new FakeKubeApi({ now: clock.now });
    const counted = countPending(new ClientNodeGateway({ kubeConfig: kubeConfigForUrl(await api.start()), timeoutMs: 2000 }));
    gw = counted.proxy;
    // Busy while a lease call is on its way, unless the server is deliberately sitting on it.
    clock.busy = () => counted.pending() > api.hangingCount;
  });
  afterEach(async () => {
    api.clearFaults();
    await Promise.all(electors.splice(0).map((e) => e.stop()));
    await api.stop();
  });

  function elector(identity: string, events: string[] = [], client: LeaseClient = gw): LeaderElector {
    const e = new LeaderElector({
      client, namespace: NS, name: NAME, identity,
      leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000,
      clock, random: () => 0,
      onStartedLeading: () => events.push('started'),
      onStoppedLeading: (r) => events.push(`stopped: ${r}`),
    });
    electors.push(e);
    return e;
  }

  const lease = () => api.objects.get('leases', NS, NAME);
  const seedLease = (holder: string, renewTime = '2024-05-01T09:00:00.000000Z') => api.objects.seed({
    apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: NAME, namespace: NS },
    spec: { holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: renewTime, renewTime, leaseTransitions: 4 },
  });

  it('creates the Lease and leads when there is none', async () => {
    const a = elector('a');
    assert.equal(await a.tryAcquireOrRenew(), true);
    const l = lease();
    assert.equal(l.spec.holderIdentity, 'a');
    assert.equal(l.spec.leaseDurationSeconds, 15);
    assert.equal(l.spec.leaseTransitions, 0);
    assert.equal(l.spec.renewTime, '2024-05-01T10:00:00.000000Z');
  });

  it('does not take a held lease before it expires by the LOCAL clock, then takes it over', async () => {
    // renewTime is an hour old, but expiry counts from when we first saw the record, not from renewTime.
    seedLease('other');
    const b = elector('b');
    assert.equal(await b.tryAcquireOrRenew(), false);
    assert.equal(b.status().observedHolder, 'other');
    clock.set(clock.now() + 14_000);
    assert.equal(await b.tryAcquireOrRenew(), false, 'still valid 14s after observation');
    clock.set(clock.now() + 1_500);
    assert.equal(await b.tryAcquireOrRenew(), true);
    assert.equal(lease().spec.holderIdentity, 'b');
    assert.equal(lease().spec.leaseTransitions, 5, 'a takeover counts a transition');
  });

  it('a holder that keeps renewing is never taken over', async () => {
    seedLease('other');
    const b = elector('b');
    for (let i = 0; i < 5; i++) {
      assert.equal(await b.tryAcquireOrRenew(), false);
      clock.set(clock.now() + 10_000);
      const l = lease();
      api.objects.update('leases', NS, NAME, { ...l, spec: { ...l.spec, renewTime: new Date(clock.now()).toISOString().replace('Z', '000Z') } });
    }
  });

  it('renews every retry period keeping acquireTime, and updates are conditioned on resourceVersion', async () => {
    const a = elector('a');
    a.start();
    await clock.settle();
    assert.equal(a.isLeader(), true);
    const acquired = lease().spec.acquireTime;
    await clock.advance(2_000);
    await clock.advance(2_000);
    const l = lease();
    assert.equal(l.spec.acquireTime, acquired);
    assert.equal(l.spec.renewTime, '2024-05-01T10:00:04.000000Z');
    const updates = api.requests.filter((r) => r.verb === 'update');
    assert.equal(updates.length, 2);
    assert.ok(updates.every((u) => (u.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion), 'every update carries a resourceVersion');
    assert.equal(api.requests.filter((r) => r.verb === 'get').length, 1, 'renewals take the fast path without reading');
  });

  it('steps down at the renew deadline when the API answers 500, aborting in-flight work', async () => {
    const events: string[] = [];
    const a = elector('a', events);
    a.start();
    await clock.settle();
    const term = a.signal;
    assert.equal(term.aborted, false);
    api.fail({ resource: 'leases', status: 500 });
    await clock.advance(8_000);
    assert.equal(a.isLeader(), true, 'still inside the renew deadline');
    a.assertLeading();
    await clock.advance(2_500);
    assert.equal(a.isLeader(), false);
    assert.equal(term.aborted, true);
    assert.throws(() => a.assertLeading(), NotLeaderError);
    assert.deepEqual(events, ['started', 'stopped: failed to renew within the renew deadline']);
    assert.equal(a.status().healthy, false);
    assert.ok(a.status().renewFailedAt);
  });

  it('steps down on time even when the API stops answering', async () => {
    const events: string[] = [];
    const a = elector('a', events);
    a.start();
    await clock.settle();
    api.fail({ resource: 'leases', hang: true });
    await clock.advance(12_000);
    assert.equal(a.isLeader(), false);
    assert.deepEqual(events, ['started', 'stopped: failed to renew within the renew deadline']);
  });

  it('a renewal held up past the renew deadline before it is sent never reaches the API (a frozen leader resuming)', async () => {
    const events: string[] = [];
    let freezeNext = false;
    // The process "freezes" after deciding to renew and before the request goes out: time jumps past
    // the renew deadline without any timer firing, as after SIGSTOP/SIGCONT.
    const freezing: LeaseClient = {
      getLease: (ns, n, o) => gw.getLease(ns, n, o),
      createLease: (ns, n, spec, o) => gw.createLease(ns, n, spec, o),
      updateLease: (ns, n, spec, rv, o) => {
        if (freezeNext) {
          freezeNext = false;
          clock.set(clock.now() + 11_000);
        }
        return gw.updateLease(ns, n, spec, rv, o);
      },
    };
    const a = elector('a', events, freezing);
    a.start();
    await clock.settle();
    assert.equal(a.isLeader(), true);
    freezeNext = true;
    const decidedAt = clock.now() + 2_000;
    await clock.advance(2_000);
    await clock.settle();
    const renewTimes = api.requests.filter((r) => r.verb === 'update')
      .map((r) => Date.parse((r.body as { spec: { renewTime: string } }).spec.renewTime));
    assert.ok(!renewTimes.includes(decidedAt), `the renewal decided at ${new Date(decidedAt).toISOString()} was never sent (sent: ${renewTimes.map((t) => new Date(t).toISOString()).join(', ')})`);
    assert.deepEqual(events.slice(0, 2), ['started', 'stopped: failed to renew within the renew deadline']);
  });

  it('assertLeading is a local-clock check: past the renew deadline it refuses without any API call', async () => {
    const a = elector('a');
    a.start();
    await clock.settle();
    const calls = api.requests.length;
    clock.set(clock.now() + 10_000);
    assert.throws(() => a.assertLeading(), /renew deadline/);
    assert.equal(api.requests.length, calls);
  });

  it('releases on stop so a follower takes over without waiting for expiry', async () => {
    const a = elector('a');
    a.start();
    await clock.settle();
    await a.stop();
    assert.equal(lease().spec.holderIdentity, '');
    assert.equal(lease().spec.leaseDurationSeconds, 1);
    // client-go takes a lease with an empty holder at once; the 1s duration covers older clients.
    const b = elector('b');
    assert.equal(await b.tryAcquireOrRenew(), true);
    assert.equal(lease().spec.leaseTransitions, 1);
  });

  it('releases on stop even when a renewal landed that it never saw answered (stop cut it short)', async () => {
    const a = elector('a');
    a.start();
    await clock.settle();
    // The API server applied a renewal whose answer the stopping leader aborted: the Lease still names
    // `a`, but under a resourceVersion `a` has not seen.
    api.objects.patch('leases', NS, NAME, (l) => ({ ...l, spec: { ...l.spec, renewTime: '2024-05-01T10:00:01.000000Z' } }));
    await a.stop();
    assert.equal(lease().spec.holderIdentity, '');
  });

  it('a deposed leader that has not yet seen the new holder does not release (nor write) on stop', async () => {
    const a = elector('a');
    a.start();
    await clock.settle();
    api.objects.patch('leases', NS, NAME, (l) => ({ ...l, spec: { ...l.spec, holderIdentity: 'b' } }));
    const writes = api.mutations().length;
    await a.stop();
    assert.equal(lease().spec.holderIdentity, 'b');
    assert.equal(api.mutations().length, writes);
  });

  it('two candidates: exactly one leads, the other takes over after the leader dies', async () => {
    const a = elector('a');
    const b = elector('b');
    a.start();
    await clock.settle();
    b.start();
    await clock.advance(6_000);
    assert.deepEqual([a.isLeader(), b.isLeader()], [true, false]);
    // a stops renewing (its calls fail); b must wait out the lease duration by its own clock.
    api.fail({ resource: 'leases', verb: 'update', status: 500, match: (r) => (r.body as { spec: { holderIdentity: string } }).spec.holderIdentity === 'a' });
    await clock.advance(30_000);
    assert.equal(a.isLeader(), false);
    assert.equal(b.isLeader(), true);
    assert.equal(lease().spec.holderIdentity, 'b');
  });

  it('rejects timings that break client-go invariants', () => {
    const base = { client: gw, namespace: NS, name: NAME, identity: 'x', clock, random: Math.random };
    assert.throws(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }), /lease_duration/);
    assert.throws(() => new LeaderElector({ ...base, leaseDurationMs: 15_000, renewDeadlineMs: 2_400, retryPeriodMs: 2_000 }), /renew_deadline/);
  });
});

describe('leader/record (pure)', () => {
  describe('candidateWait', () => {
    const spec = (holder: string) => ({ holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: 0, renewTime: 0, leaseTransitions: 0 });
    const obs = (holder: string, observedAt: number) => ({ spec: spec(holder), resourceVersion: '1', observedAt });
    it('stays within [retry_period/2, retry_period] (never above it)', () => {
      assert.equal(candidateWait(2000, () => 0, null, 'me', 0), 1000);
      assert.equal(candidateWait(2000, () => 0.999999, null, 'me', 0) <= 2000, true);
      assert.equal(candidateWait(2000, () => 0.5, obs('', 0), 'me', 0), 1500, 'a free lease: ordinary retry');
    });
    it('attempts right at the observed expiry of another holder when that comes first', () => {
      // Observed at t=0 for 15 s; at t=14.5 s the lease has 500 ms left: wait exactly that (+1 ms).
      assert.equal(candidateWait(2000, () => 1, obs('other', 0), 'me', 14_500), 501);
      assert.equal(candidateWait(2000, () => 1, obs('other', 0), 'me', 10_000), 2000, 'expiry further away than a retry');
      assert.equal(candidateWait(2000, () => 1, obs('other', 0), 'me', 16_000), 2000, 'already expired: next retry (the attempt just failed)');
    });
  });

  const spec = (holder: string, transitions = 2) =>
    ({ holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: 100, renewTime: 100, leaseTransitions: transitions });

  it('keeps observedAt while the record does not change', () => {
    const o1 = observe(null, spec('x'), '1', 1_000);
    const o2 = observe(o1, spec('x'), '2', 9_000);
    assert.equal(o2.observedAt, 1_000);
    assert.equal(o2.resourceVersion, '2');
    assert.equal(observe(o2, { ...spec('x'), renewTime: 200 }, '3', 9_000).observedAt, 9_000);
  });

  it('decides renew / held / acquire with named reasons', () => {
    const o = observe(null, spec('x'), '1', 0);
    assert.deepEqual(decide(o, 'me', 15, 5_000), { kind: 'held', holder: 'x' });
    const take = decide(o, 'me', 15, 15_000);
    assert.equal(take.kind === 'take' && take.reason, 'acquire-expired');
    assert.equal(take.kind === 'take' && take.spec.leaseTransitions, 3);
    const mine = decide(observe(null, spec('me'), '1', 0), 'me', 15, 5_000);
    assert.equal(mine.kind === 'take' && mine.reason, 'renew');
    assert.equal(mine.kind === 'take' && mine.spec.acquireTime, 100);
    const empty = decide(observe(null, spec(''), '1', 0), 'me', 15, 1);
    assert.equal(empty.kind === 'take' && empty.reason, 'acquire-empty');
  });

  it('identity is POD_NAME plus an injected random suffix', () => {
    assert.equal(makeIdentity('web-0', () => 0), 'web-0_aaaaaaaa');
    assert.match(makeIdentity('web-0', Math.random), /^web-0_[a-z0-9]{8}$/);
    assert.notEqual(makeIdentity('p', () => 0.5), makeIdentity('p', () => 0.1));
  });

  it('StaticLeadership leads between start and stop', async () => {
    const s = new StaticLeadership({ identity: 'solo' });
    assert.throws(() => s.assertLeading(), NotLeaderError);
    s.start();
    s.assertLeading();
    const sig = s.signal;
    await s.stop();
    assert.equal(sig.aborted, true);
    assert.equal(s.isLeader(), false);
  });
});
