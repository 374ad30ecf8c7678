// The harness itself: the binaries are the pinned versions, the controllers the suites rely on run,
// and RBAC is enforced (a token with no bindings is refused).
import assert from 'node:assert/strict';
import { K8S_VERSION } from './control-plane.ts';
import { clusterEnv } from './env.ts';

describe('cluster: the control plane harness', () => {
  it(`serves Kubernetes ${K8S_VERSION} on loopback, in a namespace with no other network`, async () => {
    const { cp } = clusterEnv();
    const v = await cp.admin.get('/version');
    assert.equal(v.gitVersion, K8S_VERSION);
    assert.equal(`${v.major}.${v.minor}`, K8S_VERSION.slice(1).split('.').slice(0, 2).join('.'));
    assert.equal(new URL(cp.url).hostname, '127.0.0.1');
    const { networkInterfaces } = await import('node:os');
    assert.deepEqual(Object.keys(networkInterfaces()), ['lo'], 'only loopback exists here');
  });

  it('runs the deployment and replicaset controllers: a Deployment gets its pods', async () => {
    const { scene } = clusterEnv();
    const ns = `harness-${Date.now() % 100_000}`;
    await scene.namespace(ns);
    await scene.deployment(ns, 'web', { replicas: 2 });
    const pods = await scene.livePods(ns, 'web', 2);
    assert.equal(pods[0].metadata.ownerReferences[0].kind, 'ReplicaSet');
  });

  it('enforces RBAC: a ServiceAccount with no bindings can read nothing', async () => {
    const { scene, cp } = clusterEnv();
    const ns = `rbac-${Date.now() % 100_000}`;
    await scene.namespace(ns);
    const nobody = cp.admin.withToken(await scene.token(ns, 'default'));
    const r = await nobody.request('GET', '/api/v1/namespaces/default/pods');
    assert.equal(r.status, 403);
    await nobody.close();
  });
});
