// The ValidatingWebhook on a real apiserver: the chart's own webhook configuration (rewritten to a
// loopback URL) makes the apiserver send real AdmissionReviews for Event writes in both APIs.
import assert from 'node:assert/strict';
import { testPki } from '../../support/pki.ts';
import { waitFor } from '../../support/proc.ts';
import { READ_TOKEN, type ServerProc } from '../../support/server-proc.ts';
import { clusterEnv, type ClusterEnv } from './env.ts';
import { admissionUrl, audits, decide, podAlert, renderChart, startSentinel } from './sentinel.ts';
import { assertLoopbackOnly, rewriteWebhooks } from './webhook-rewrite.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const iso = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

function coreEvent(ns: string, name: string, reason: string, message: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'v1', kind: 'Event', metadata: { name, namespace: ns },
    involvedObject: { apiVersion: 'v1', kind: 'Pod', name: 'web-7d9f8b6c5-x2k4q', namespace: ns, fieldPath: 'spec.containers{app}' },
    reason, message, type: 'Warning', count: 1, firstTimestamp: iso(), lastTimestamp: iso(),
    source: { component: 'kubelet', host: 'node-1' }, ...extra,
  };
}

describe('cluster: admission webhook on a real apiserver', function () {
  this.timeout(120_000);
  let env: ClusterEnv;
  let ks: ServerProc;
  let timeoutSeconds: number;
  let ns: string;

  before(async () => {
    env = clusterEnv();
    ks = await startSentinel(env, { name: 'ks-admission' });
    const pki = await testPki();
    const docs = rewriteWebhooks(await renderChart(), { url: admissionUrl(ks), ca: pki.ca });
    assertLoopbackOnly(docs);
    const vwc = docs.find((d) => d.kind === 'ValidatingWebhookConfiguration')!;
    timeoutSeconds = vwc.webhooks[0].timeoutSeconds;
    const r = await env.cp.admin.create(vwc);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(r.warnings, []);
    ns = `adm-${Date.now() % 100_000}`;
    await env.scene.namespace(ns);
  });
  let stopped = false;
  after(async () => {
    await env.cp.admin.request('DELETE', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/ks-kube-sentinel');
    if (!stopped) await ks?.stop();
  });

  async function groups(namespace: string): Promise<any[]> {
    const r = await ks.client.get(`/api/errors?namespace=${namespace}&page_size=500`, READ_TOKEN);
    assert.equal(r.status, 200, r.text);
    return r.body.errors;
  }

  it('classifies a core/v1 Warning Event the apiserver sends as an AdmissionReview', async () => {
    await env.cp.admin.post(`/api/v1/namespaces/${ns}/events`,
      coreEvent(ns, 'web.crash1', 'BackOff', 'Back-off restarting failed container app in pod web-7d9f8b6c5-x2k4q'));
    const g = await waitFor('the group from the admission review', async () => (await groups(ns)).find((x) => x.title === 'BackOff'));
    assert.equal(g.source, 'event');
    assert.equal(g.priority, 'P1');
    assert.equal(g.rule, 'test-crashloop-event');
  });

  it('classifies an events.k8s.io/v1 Warning Event', async () => {
    await env.cp.admin.post(`/apis/events.k8s.io/v1/namespaces/${ns}/events`, {
      apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'db.oom1', namespace: ns },
      eventTime: new Date().toISOString().replace('Z', '000Z').replace(/\.(\d{3})000Z$/, '.$1000Z'),
      reportingController: 'kubelet', reportingInstance: 'node-1', action: 'Killing', reason: 'OOMKilling',
      note: 'Memory cgroup out of memory: Killed process 4242 (postgres)', type: 'Warning',
      regarding: { kind: 'Pod', namespace: ns, name: 'db-0' },
    });
    const g = await waitFor('the events.k8s.io group', async () => (await groups(ns)).find((x) => x.title === 'OOMKilling'));
    assert.equal(g.pod, 'db-0');
  });

  it('records nothing for --dry-run=server', async () => {
    const r = await env.cp.admin.request('POST', `/api/v1/namespaces/${ns}/events?dryRun=All`,
      coreEvent(ns, 'web.dry1', 'FailedMount', 'MountVolume.SetUp failed for volume "data-dry-run-only"'));
    assert.equal(r.status, 201, JSON.stringify(r.body));
    // A real write after it proves the webhook was reached in between; the dry run left nothing.
    await env.cp.admin.post(`/api/v1/namespaces/${ns}/events`, coreEvent(ns, 'web.real1', 'Unhealthy', 'Readiness probe failed: marker-after-dry-run'));
    await waitFor('the marker group', async () => (await groups(ns)).find((x) => x.title === 'Unhealthy'));
    assert.equal((await groups(ns)).filter((x) => /data-dry-run-only/.test(x.message)).length, 0);
  });

  it("never records Kube Sentinel's own Events: a real restart does not feed back as a new group", async () => {
    const work = `adm-own-${Date.now() % 100_000}`;
    await env.scene.namespace(work);
    await env.scene.deployment(work, 'web');
    const [p] = await env.scene.livePods(work, 'web', 1);
    await env.scene.crashLoop(work, p.metadata.name);
    const d = await decide(ks, podAlert('restart', work, p.metadata.name), work);
    assert.equal(d.outcome, 'acted', d.message);
    const [ev] = await waitFor('the remediation Event', async () => {
      const e = await env.scene.events(work, 'KubeSentinelRemediation');
      return e.length > 0 ? e : null;
    });
    assert.match(ev.message, /CrashLoopBackOff|restart/i);
    // The apiserver sent that Event through the webhook; a marker Event after it proves delivery order.
    await env.cp.admin.post(`/api/v1/namespaces/${work}/events`, coreEvent(work, 'web.marker', 'Unhealthy', 'Liveness probe failed: marker'));
    await waitFor('the marker group', async () => (await groups(work)).find((x) => x.title === 'Unhealthy'));
    const all = await groups(work);
    assert.deepEqual(all.filter((g) => g.source === 'event' && g.title !== 'Unhealthy').map((g) => g.title), [],
      'no group was made from the KubeSentinelRemediation Event');
    assert.equal((await audits(ks, work)).length, 1, 'and no second remediation was queued');
  });

  it('a forged AdmissionReview naming a healthy pod is recorded as admission-sourced and never touches the pod', async () => {
    const work = `adm-forged-${Date.now() % 100_000}`;
    await env.scene.namespace(work);
    await env.scene.deployment(work, 'web');
    const [p] = await env.scene.livePods(work, 'web', 1);
    await env.scene.ready(work, p.metadata.name);
    // Straight to the admission listener, as anyone who can reach it could: the Event's labels pick the
    // restart rule, its involvedObject names the healthy pod.
    const pki = await testPki();
    const { Agent, request } = await import('undici');
    const agent = new Agent({ connect: { ca: pki.ca } });
    const review = {
      apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
      request: { uid: 'forged-1', operation: 'CREATE', object: {
        ...coreEvent(work, 'web.forged', 'BackOff', 'Back-off restarting failed container app'),
        metadata: { name: 'web.forged', namespace: work, labels: { ks_test: 'restart' } },
        involvedObject: { apiVersion: 'v1', kind: 'Pod', name: p.metadata.name, namespace: work, fieldPath: 'spec.containers{app}' },
      } },
    };
    const res = await request(admissionUrl(ks), { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body: JSON.stringify(review) });
    const answer = await res.body.json() as { response: { uid: string; allowed: boolean } };
    await agent.close();
    assert.equal(res.statusCode, 200);
    assert.deepEqual([answer.response.uid, answer.response.allowed], ['forged-1', true]);
    const decision = await waitFor('the decision about the forged signal', async () => (await audits(ks, work))[0] ?? null);
    assert.equal(decision.outcome, 'skipped');
    assert.equal(decision.reason, 'pod-healthy');
    const g = (await groups(work)).find((x) => x.title === 'BackOff');
    assert.equal(g?.labels['kube-sentinel.io/via'], 'admission', 'the group shows it came through admission');
    const live = await env.cp.admin.get(`/api/v1/namespaces/${work}/pods/${p.metadata.name}`);
    assert.equal(live.metadata.deletionTimestamp, undefined, 'the healthy pod was not touched');
    assert.equal(env.cp.writes().filter((w) => w.objectRef.namespace === work && w.username.startsWith('system:serviceaccount:kube-sentinel:')).length, 0,
      'Kube Sentinel made no write in that namespace');
  });

  it('Event creation still succeeds quickly while the server is frozen, and when it is down', async () => {
    const pid = ks.proc.child.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      const t0 = performance.now();
      await env.cp.admin.post(`/api/v1/namespaces/${ns}/events`, coreEvent(ns, 'web.frozen', 'BackOff', 'while frozen'));
      const took = (performance.now() - t0) / 1000;
      assert.ok(took < timeoutSeconds + 1.5, `creation took ${took.toFixed(2)} s with a ${timeoutSeconds} s webhook timeout`);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await ks.stop('SIGKILL');
    stopped = true;
    const t1 = performance.now();
    await env.cp.admin.post(`/api/v1/namespaces/${ns}/events`, coreEvent(ns, 'web.down', 'BackOff', 'while down'));
    const took = (performance.now() - t1) / 1000;
    assert.ok(took < 2, `creation took ${took.toFixed(2)} s with the server down`);
    await sleep(10);
  });
});
