// The in-process scene the worker tests share: an injected clock, the fake API server (for faults and
// crash points a real apiserver cannot produce on demand) behind the real client-node gateway, an
// in-memory SQLite store with remediation on, a static leadership and the `shop` namespace.
import { ClientNodeGateway, kubeConfigForUrl } from '../../src/cluster/gateway.ts';
import { StaticLeadership } from '../../src/leader/elector.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { namespace } from '../fakes/kube-api-fixtures.ts';
import { FakeClock } from './fake-clock.ts';

export interface World {
  clock: FakeClock;
  api: FakeKubeApi;
  kube: ClientNodeGateway;
  store: SqliteStore;
  leader: StaticLeadership;
}

export async function remediationWorld(opts: { identity?: string } = {}): Promise<World> {
  const clock = new FakeClock();
  const api = new FakeKubeApi({ now: clock.now });
  const kube = new ClientNodeGateway({ kubeConfig: kubeConfigForUrl(await api.start()), timeoutMs: 2000 });
  const store = new SqliteStore({ path: ':memory:', maxOccurrences: 10, now: clock.now });
  await store.migrate();
  await store.putSettings({ enabled: true, dryRun: false, maxActionsPerHour: 100 });
  const leader = new StaticLeadership({ identity: opts.identity ?? 'pod-a_x' });
  leader.start();
  api.objects.seed(namespace('shop'));
  return { clock, api, kube, store, leader };
}
