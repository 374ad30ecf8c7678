import assert from 'node:assert/strict';
import { ClientNodeGateway, createKubeGateway, kubeConfigForUrl } from '../../src/cluster/gateway.ts';
import { LoadError } from '../../src/domain/errors.ts';
import { KubeApiError, type KubeGateway } from '../../src/remediate/kube.ts';
import { FakeKubeApi } from '../fakes/kube-api.ts';

// Faults a real apiserver cannot produce on demand (5xx, a hang) and the no-cluster cases. Everything
// else the gateway does is judged by the real apiserver: test/cluster/real/gateway.test.ts.
describe('cluster/gateway: faults (client-node against the fake API server)', () => {
  let api: FakeKubeApi;
  let gw: KubeGateway;

  beforeEach(async () => {
    api = new FakeKubeApi();
    gw = new ClientNodeGateway({ kubeConfig: kubeConfigForUrl(await api.start()), timeoutMs: 2000 });
  });
  afterEach(() => api.stop());

  it('turns server errors and silence into KubeApiError (5xx / status 0, both transient)', async () => {
    api.fail({ verb: 'get', resource: 'pods', status: 503, times: 1 });
    await assert.rejects(gw.getPod('shop', 'x'), (e: unknown) => e instanceof KubeApiError && e.apiStatus === 503 && e.transient);
    const quick = new ClientNodeGateway({ kubeConfig: kubeConfigForUrl(api.url), timeoutMs: 150 });
    api.fail({ verb: 'get', resource: 'pods', hang: true, times: 1 });
    await assert.rejects(quick.getPod('shop', 'x'), (e: unknown) => e instanceof KubeApiError && e.apiStatus === 0 && e.transient);
    api.fail({ verb: 'delete', resource: 'pods', status: 403, times: 1 });
    await assert.rejects(gw.deletePod('shop', 'x', { uid: 'u', resourceVersion: '1', gracePeriodSeconds: 1 }),
      (e: unknown) => e instanceof KubeApiError && e.apiStatus === 403 && !e.transient);
  });

  it('a guarded write re-checks its guard as it is sent: refused there, nothing reaches the server', async () => {
    const seeded = api.objects.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'shop' } });
    const pre = { uid: String(seeded.metadata.uid), resourceVersion: String(seeded.metadata.resourceVersion), gracePeriodSeconds: 0 };
    let leading = true;
    let checks = 0;
    const deposed = new Error('deposed');
    const guard = () => { checks++; if (!leading) throw deposed; };
    // The caller checked and called while leading; it lost the lease before the request went out.
    const pending = gw.deletePod('shop', 'web-1', pre, { guard });
    leading = false;
    await assert.rejects(pending, (e: unknown) => e === deposed);
    assert.equal(checks, 1);
    assert.deepEqual(api.mutations(), [], 'no delete reached the API server');
    assert.ok(api.objects.find('pods', 'shop', 'web-1'), 'the pod is still there');

    leading = true;
    await gw.deletePod('shop', 'web-1', pre, { guard });
    assert.equal(checks, 2);
    assert.deepEqual(api.mutations().map((r) => r.verb), ['delete']);
  });

  it('createKubeGateway returns null when there is no cluster', () => {
    assert.equal(createKubeGateway({ inCluster: null, serviceAccountTokenExists: () => false }), null);
    assert.equal(createKubeGateway({ inCluster: false }), null);
    assert.ok(createKubeGateway({ kubeConfig: kubeConfigForUrl('http://127.0.0.1:1') }));
  });

  it('a broken kubeconfig is a load error naming the file', () => {
    assert.throws(() => createKubeGateway({ inCluster: false, kubeconfigPath: '/nonexistent/kubeconfig' }),
      (e: unknown) => e instanceof LoadError && e.file === '/nonexistent/kubeconfig');
  });
});
