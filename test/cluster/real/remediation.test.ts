// Remediation on real objects: the Deployment, ReplicaSet, StatefulSet and DaemonSet controllers of a
// real kube-controller-manager, judged by a real apiserver, with Kube Sentinel acting as the chart's
// webhook ServiceAccount. Every assertion reads the live object, not what Kube Sentinel said it did.
import assert from 'node:assert/strict';
import { waitFor } from '../../support/proc.ts';
import type { ServerProc } from '../../support/server-proc.ts';
import { clusterEnv, type ClusterEnv } from './env.ts';
import { audits, decide, podAlert, startSentinel } from './sentinel.ts';

const OPT_OUT = { 'kube-sentinel.io/remediation': 'disabled' };
let nsSeq = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('cluster: remediation on real objects', function () {
  this.timeout(120_000);
  let env: ClusterEnv;
  let ks: ServerProc;

  before(async () => {
    env = clusterEnv();
    ks = await startSentinel(env);
  });
  let stopped = false;
  after(async () => { if (!stopped) await ks?.stop(); });

  async function freshNamespace(annotations: Record<string, string> = {}): Promise<string> {
    const ns = `rem-${++nsSeq}-${Date.now() % 100_000}`;
    await env.scene.namespace(ns, annotations);
    return ns;
  }

  /** A Deployment whose one pod is crash-looping; returns the pod's name. */
  async function crashingDeployment(ns: string, name: string, opts: { replicas?: number; annotations?: Record<string, string> } = {}): Promise<string> {
    await env.scene.deployment(ns, name, opts);
    const pods = await env.scene.livePods(ns, name, opts.replicas ?? 1);
    for (const p of pods) await env.scene.ready(ns, p.metadata.name);
    const pod = pods[0].metadata.name;
    await env.scene.crashLoop(ns, pod);
    return pod;
  }

  it('restart-pod: the pod is deleted with its grace period, the ReplicaSet replaces it, an Event is recorded; the cooldown refuses the replacement', async () => {
    const ns = await freshNamespace();
    const pod = await crashingDeployment(ns, 'web');
    const uid = (await env.cp.admin.get(`/api/v1/namespaces/${ns}/pods/${pod}`)).metadata.uid;

    const d = await decide(ks, podAlert('restart', ns, pod), ns);
    assert.equal(d.outcome, 'acted', d.message);
    assert.equal(d.target, 'Deployment/web');
    // Bound to a node with no kubelet, the pod stays Terminating with the grace period it was given.
    const old = await env.cp.admin.get(`/api/v1/namespaces/${ns}/pods/${pod}`);
    assert.equal(old.metadata.uid, uid);
    assert.ok(old.metadata.deletionTimestamp, 'the pod is being deleted');
    assert.equal(old.metadata.deletionGracePeriodSeconds, 30);
    const [replacement] = await env.scene.livePods(ns, 'web', 1);
    assert.notEqual(replacement.metadata.name, pod, 'the ReplicaSet created a replacement');
    const events = await waitFor('the KubeSentinelRemediation Event', async () => {
      const e = await env.scene.events(ns, 'KubeSentinelRemediation');
      return e.length > 0 ? e : null;
    });
    assert.equal(events[0].involvedObject.kind, 'Deployment');
    assert.equal(events[0].involvedObject.name, 'web');
    assert.match(events[0].message, new RegExp(pod));

    await env.scene.crashLoop(ns, replacement.metadata.name);
    const again = await decide(ks, podAlert('restart', ns, replacement.metadata.name), ns);
    // (The new occurrence also makes the first restart's outcome check `ineffective`: loop.test.ts.)
    assert.equal(again.outcome, 'skipped');
    assert.equal(again.reason, 'cooldown');
    const live = await env.cp.admin.get(`/api/v1/namespaces/${ns}/pods/${replacement.metadata.name}`);
    assert.equal(live.metadata.deletionTimestamp, undefined, 'the replacement was not touched');
  });

  it('scale-up and scale-down change spec.replicas within max_replicas / min_replicas', async () => {
    const ns = await freshNamespace();
    const pod = await crashingDeployment(ns, 'api', { replicas: 2 });
    const up = await decide(ks, podAlert('scale-up', ns, pod), ns);
    assert.equal(up.outcome, 'acted', up.message);
    let dep = await env.cp.admin.get(`/apis/apps/v1/namespaces/${ns}/deployments/api`);
    assert.equal(dep.spec.replicas, 3);
    await env.scene.livePods(ns, 'api', 3);
    await sleep(1_100); // the rule's cooldown
    const capped = await decide(ks, podAlert('scale-up', ns, pod), ns);
    assert.equal(capped.outcome, 'skipped');
    assert.equal(capped.reason, 'at-max-replicas');
    dep = await env.cp.admin.get(`/apis/apps/v1/namespaces/${ns}/deployments/api`);
    assert.equal(dep.spec.replicas, 3, 'max_replicas holds on the live object');

    const down1 = await decide(ks, podAlert('scale-down', ns, pod), ns);
    assert.equal(down1.outcome, 'acted', down1.message);
    await sleep(1_100);
    const down2 = await decide(ks, podAlert('scale-down', ns, pod), ns);
    assert.equal(down2.outcome, 'acted', down2.message);
    await sleep(1_100);
    const floor = await decide(ks, podAlert('scale-down', ns, pod), ns);
    assert.equal(floor.outcome, 'skipped');
    assert.equal(floor.reason, 'at-min-replicas');
    dep = await env.cp.admin.get(`/apis/apps/v1/namespaces/${ns}/deployments/api`);
    assert.equal(dep.spec.replicas, 1);
  });

  it('rollback restores the previous revision made by the deployment controller', async () => {
    const ns = await freshNamespace();
    await env.scene.deployment(ns, 'shop', { image: 'registry.example/shop:1' });
    const [v1pod] = await env.scene.livePods(ns, 'shop', 1);
    await env.scene.ready(ns, v1pod.metadata.name);
    await env.cp.admin.mergePatch(`/apis/apps/v1/namespaces/${ns}/deployments/shop`, {
      spec: { template: { spec: { containers: [{ name: 'app', image: 'registry.example/shop:2' }] } } },
    });
    const v2pod = await waitFor('a revision-2 pod', async () => {
      const pods = await env.scene.pods(ns, 'shop');
      return pods.find((p) => !p.metadata.deletionTimestamp && p.spec.containers[0].image.endsWith(':2')) ?? null;
    });
    await env.scene.crashLoop(ns, v2pod.metadata.name);

    const d = await decide(ks, podAlert('rollback', ns, v2pod.metadata.name), ns);
    assert.equal(d.outcome, 'acted', d.message);
    const dep = await env.cp.admin.get(`/apis/apps/v1/namespaces/${ns}/deployments/shop`);
    assert.equal(dep.spec.template.spec.containers[0].image, 'registry.example/shop:1');
    // The controller turns the restored template into revision 3 by reusing revision 1's ReplicaSet.
    await waitFor('revision 3 on the reused ReplicaSet', async () => {
      const rs = await env.cp.admin.get(`/apis/apps/v1/namespaces/${ns}/replicasets`);
      const v1rs = rs.items.find((r: any) => r.spec.template.spec.containers[0].image.endsWith(':1'));
      return v1rs?.metadata.annotations?.['deployment.kubernetes.io/revision'] === '3';
    });
  });

  it('delete-stuck-pods force-deletes a bound pod stuck Terminating (its node has no kubelet)', async () => {
    const ns = await freshNamespace();
    const pod = await crashingDeployment(ns, 'stuck');
    await env.cp.admin.del(`/api/v1/namespaces/${ns}/pods/${pod}`, { gracePeriodSeconds: 1 });
    await sleep(1_500);
    assert.ok((await env.cp.admin.get(`/api/v1/namespaces/${ns}/pods/${pod}`)).metadata.deletionTimestamp, 'stuck Terminating');
    const d = await decide(ks, podAlert('stuck', ns, pod), ns);
    assert.equal(d.outcome, 'acted', d.message);
    assert.equal(await env.cp.admin.find(`/api/v1/namespaces/${ns}/pods/${pod}`), null, 'the pod is gone');
  });

  it('delete-stuck-pods on a finalizer-held pod is failed with a reason, and the pod is still there', async () => {
    const ns = await freshNamespace();
    const pod = await crashingDeployment(ns, 'held');
    await env.cp.admin.mergePatch(`/api/v1/namespaces/${ns}/pods/${pod}`, { metadata: { finalizers: ['example.com/hold'] } });
    await env.cp.admin.del(`/api/v1/namespaces/${ns}/pods/${pod}`, { gracePeriodSeconds: 1 });
    await sleep(1_500);
    const d = await decide(ks, podAlert('stuck', ns, pod), ns);
    assert.equal(d.outcome, 'failed', d.message);
    assert.equal(d.reason, 'pod-survived-delete');
    assert.match(d.message, /example\.com\/hold/);
    assert.ok(await env.cp.admin.find(`/api/v1/namespaces/${ns}/pods/${pod}`), 'the pod survived');
    await env.cp.admin.mergePatch(`/api/v1/namespaces/${ns}/pods/${pod}`, { metadata: { finalizers: null } });
  });

  it('restart-pod follows StatefulSet and DaemonSet owners through the API', async () => {
    const ns = await freshNamespace();
    await env.scene.statefulSet(ns, 'db');
    const [db0] = await env.scene.livePods(ns, 'db', 1);
    await env.scene.crashLoop(ns, db0.metadata.name);
    const s = await decide(ks, podAlert('restart', ns, db0.metadata.name), ns);
    assert.equal(s.outcome, 'acted', s.message);
    assert.equal(s.target, 'StatefulSet/db');
    assert.ok((await env.cp.admin.get(`/api/v1/namespaces/${ns}/pods/${db0.metadata.name}`)).metadata.deletionTimestamp);

    await env.scene.node();
    await env.scene.daemonSet(ns, 'agent');
    const [agent] = await env.scene.livePods(ns, 'agent', 1);
    await env.scene.crashLoop(ns, agent.metadata.name);
    const d = await decide(ks, podAlert('restart', ns, agent.metadata.name), ns);
    assert.equal(d.outcome, 'acted', d.message);
    assert.equal(d.target, 'DaemonSet/agent');
  });

  describe('safety refusals leave the live objects untouched', () => {
    async function assertUntouched(ns: string, pod: string) {
      const live = await env.cp.admin.get(`/api/v1/namespaces/${ns}/pods/${pod}`);
      assert.equal(live.metadata.deletionTimestamp, undefined, `${ns}/${pod} was not deleted`);
    }

    it('a bare pod with no controller', async () => {
      const ns = await freshNamespace();
      await env.scene.barePod(ns, 'lonely');
      await env.scene.crashLoop(ns, 'lonely');
      const d = await decide(ks, podAlert('restart', ns, 'lonely'), ns);
      assert.equal(d.outcome, 'skipped');
      assert.equal(d.reason, 'no-controller');
      await assertUntouched(ns, 'lonely');
    });

    it('an excluded namespace (the server\'s own)', async () => {
      const ns = 'kube-sentinel';
      await env.scene.deployment(ns, 'inside');
      const [p] = await env.scene.livePods(ns, 'inside', 1);
      await env.scene.crashLoop(ns, p.metadata.name);
      const d = await decide(ks, podAlert('restart', ns, p.metadata.name), ns);
      assert.equal(d.outcome, 'skipped');
      assert.equal(d.reason, 'excluded-namespace');
      await assertUntouched(ns, p.metadata.name);
    });

    it('the opt-out annotation on the namespace and on the workload', async () => {
      const nsOut = await freshNamespace(OPT_OUT);
      const p1 = await crashingDeployment(nsOut, 'web');
      const d1 = await decide(ks, podAlert('restart', nsOut, p1), nsOut);
      assert.equal(d1.outcome, 'skipped');
      assert.equal(d1.reason, 'opted-out');
      await assertUntouched(nsOut, p1);

      const ns = await freshNamespace();
      const p2 = await crashingDeployment(ns, 'web', { annotations: OPT_OUT });
      const d2 = await decide(ks, podAlert('restart', ns, p2), ns);
      assert.equal(d2.outcome, 'skipped');
      assert.equal(d2.reason, 'opted-out');
      await assertUntouched(ns, p2);
    });

    it('a forged alert naming a healthy pod', async () => {
      const ns = await freshNamespace();
      await env.scene.deployment(ns, 'fine');
      const [p] = await env.scene.livePods(ns, 'fine', 1);
      await env.scene.ready(ns, p.metadata.name);
      const d = await decide(ks, podAlert('restart', ns, p.metadata.name), ns);
      assert.equal(d.outcome, 'skipped');
      assert.equal(d.reason, 'pod-healthy');
      await assertUntouched(ns, p.metadata.name);
    });
  });

  // Last: it stops `ks` (one Lease), and nested suites run after the tests above.
  describe('dry-run', () => {
    it('walks every guard and records "would act" without touching anything', async () => {
      await ks.stop(); // SIGTERM releases the Lease, so the dry-run server leads at once
      stopped = true;
      const dry = await startSentinel(env, { dryRun: true, name: 'ks-dry' });
      try {
        const ns = await freshNamespace();
        const pod = await crashingDeployment(ns, 'web');
        const d = await decide(dry, podAlert('restart', ns, pod), ns);
        assert.equal(d.outcome, 'dry-run', d.message);
        assert.match(d.message, /^would /);
        const live = await env.cp.admin.get(`/api/v1/namespaces/${ns}/pods/${pod}`);
        assert.equal(live.metadata.deletionTimestamp, undefined);
        assert.deepEqual(await env.scene.events(ns, 'KubeSentinelRemediation'), []);
        assert.equal((await audits(dry, ns)).length, 1);
      } finally {
        await dry.stop();
      }
    });
  });
});
