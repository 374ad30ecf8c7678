import assert from 'node:assert/strict';
import { ClientNodeGateway, kubeConfigForUrl } from '../../src/cluster/gateway.ts';
import { configSchema } from '../../src/config/schema.ts';
import { LeaderElector, StaticLeadership } from '../../src/leader/elector.ts';
import { createLeadership } from '../../src/leader/index.ts';
import { createRemediation } from '../../src/remediate/remediation.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { namespace, seedDeployment } from '../fakes/kube-api-fixtures.ts';
import { FakeClock, countPending } from './fake-clock.ts';
import { enqueue } from './requests.ts';

describe('remediate/remediation (factory wiring)', () => {
  let clock: FakeClock;
  let api: FakeKubeApi;
  let store: SqliteStore;
  let gateway: ClientNodeGateway;

  beforeEach(async () => {
    clock = new FakeClock();
    api = new FakeKubeApi({ now: clock.now });
    const counted = countPending(new ClientNodeGateway({ kubeConfig: kubeConfigForUrl(await api.start()), timeoutMs: 2000 }));
    gateway = counted.proxy;
    clock.busy = () => counted.pending() > 0;
    store = new SqliteStore({ path: ':memory:', maxOccurrences: 10, now: clock.now });
    await store.migrate();
    api.objects.seed(namespace('shop'));
  });
  afterEach(async () => {
    await store.close();
    await api.stop();
  });

  const metricsLog: string[] = [];
  const metrics = {
    onDecision: (a: string, o: string, r: string) => metricsLog.push(`${a}:${o}:${r}`),
    setLeader: (l: boolean) => metricsLog.push(`leader=${l}`),
  };
  /** As serve.ts wires it: leadership from config, then remediation on it. */
  const remediation = (config: ReturnType<typeof configSchema.parse>, podName: string, podNamespace: string) => createRemediation({
    store, gateway, config, podNamespace, metrics, clock, random: () => 0,
    leader: createLeadership({ config: config.leader_election, client: gateway, podName, podNamespace, metrics, clock, random: () => 0 }),
  });

  it('single replica: leads alone, handles woken work, excludes its own namespace, reports status', async () => {
    metricsLog.length = 0;
    const config = configSchema.parse({ remediation: { dry_run: false } });
    const r = remediation(config, 'ks-0', 'shop');
    assert.ok(r.leader instanceof StaticLeadership);
    assert.equal(r.identity, 'ks-0_aaaaaaaa');
    const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop' });
    r.start();
    await enqueue(store, { pod: pods[0].metadata.name, at: clock.now() });
    r.wake();
    await clock.settle();
    // POD_NAMESPACE is "shop": the server never remediates its own namespace.
    assert.deepEqual(metricsLog, ['leader=true', 'restart-pod:skipped:excluded-namespace']);
    assert.equal(api.mutations().length, 0);
    assert.deepEqual(r.status(), { cluster: true, healthy: true, leader: r.leader.status() });
    await r.stop();
    assert.equal(r.leader.isLeader(), false);
  });

  it('with leader election: acquires the Lease, then remediates; stop releases the Lease', async () => {
    metricsLog.length = 0;
    const config = configSchema.parse({ remediation: { dry_run: false }, leader_election: { enabled: true, namespace: 'ops' } });
    const r = remediation(config, 'ks-1', 'kube-sentinel');
    assert.ok(r.leader instanceof LeaderElector);
    const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop' });
    await enqueue(store, { pod: pods[0].metadata.name, at: clock.now() });
    r.start();
    await clock.settle();
    assert.equal(api.objects.get('leases', 'ops', 'kube-sentinel-leader').spec.holderIdentity, r.identity);
    assert.deepEqual(metricsLog, ['leader=true', 'restart-pod:acted:'], 'becoming leader wakes the worker');
    assert.equal(r.status().leader.observedHolder, r.identity);
    await r.stop();
    assert.equal(api.objects.get('leases', 'ops', 'kube-sentinel-leader').spec.holderIdentity, '');
    assert.equal(metricsLog.at(-1), 'leader=false');
  });
});
