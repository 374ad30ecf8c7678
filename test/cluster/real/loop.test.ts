// The closed loop on the real control plane (DESIGN §6a): outcome verification judged from what the
// real Deployment controller reports, suspension after two ineffective restarts and its lifting, and
// human approval (approve acts once, reject never, expiry, approval after the pod recovered skips,
// read/ingest tokens refused). Kube Sentinel runs as the chart's webhook ServiceAccount.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../../support/proc.ts';
import { ADMIN_TOKEN, INGEST_TOKEN, READ_TOKEN, type ServerProc } from '../../support/server-proc.ts';
import { clusterEnv, type ClusterEnv } from './env.ts';
import { audits, decide, podAlert, startSentinel, type Audit } from './sentinel.ts';

const RULES = `
rules:
  - name: verify-restart
    match: {labels: {ks_test: verify-restart}}
    priority: P1
    remediation: {action: restart-pod, cooldown: 1s, verify: 6s}
  - name: approve-restart
    match: {labels: {ks_test: approve-restart}}
    priority: P1
    remediation: {action: restart-pod, cooldown: 1s, approval: required, verify: "0"}
`;
const APPROVAL_TTL_MS = 8000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Row = Audit & { requestId: number };

describe('cluster: outcome verification, suspension and approval', function () {
  this.timeout(180_000);
  let env: ClusterEnv;
  let ks: ServerProc;
  let nsSeq = 0;

  before(async () => {
    env = clusterEnv();
    const rulesFile = join(env.dir, `rules-loop-${Date.now()}.yaml`);
    writeFileSync(rulesFile, RULES);
    ks = await startSentinel(env, {
      name: 'ks-loop',
      config: {
        rules_file: rulesFile,
        remediation: { enabled: true, dry_run: false, max_actions_per_hour: 1000, max_attempts: 10, approval_ttl: `${APPROVAL_TTL_MS / 1000}s`, max_ineffective: 2 },
      },
    });
  });
  after(async () => { await ks?.stop(); });

  async function crashingDeployment(name: string): Promise<{ ns: string; pod: string }> {
    const ns = `loop-${++nsSeq}-${Date.now() % 100_000}`;
    await env.scene.namespace(ns);
    await env.scene.deployment(ns, name, { replicas: 1 });
    const [p] = await env.scene.livePods(ns, name, 1);
    await env.scene.crashLoop(ns, p.metadata.name);
    return { ns, pod: p.metadata.name };
  }
  /** The live replacement of `old` the ReplicaSet controller created. */
  const replacement = async (ns: string, app: string, old: string) => waitFor(`a replacement of ${old}`, async () =>
    (await env.scene.pods(ns, app)).find((p) => !p.metadata.deletionTimestamp && p.metadata.name !== old)?.metadata.name ?? null);
  const entry = (ns: string, match: (a: Row) => boolean, what: string, ms = 30_000) =>
    waitFor(what, async () => ((await audits(ks, ns)) as Row[]).find(match) ?? null, ms, 100);
  const request = async (id: number) => (await ks.client.get('/api/remediations?page_size=500', READ_TOKEN)).body.remediations.find((r: { id: number }) => r.id === id);

  it('a restart whose replacement becomes ready → effective (audit, group, metric)', async () => {
    const { ns, pod } = await crashingDeployment('web');
    const d = await decide(ks, podAlert('verify-restart', ns, pod), ns);
    assert.equal(d.outcome, 'acted', d.message);
    await env.scene.ready(ns, await replacement(ns, 'web', pod));
    const e = await entry(ns, (a) => a.outcome === 'effective' || a.outcome === 'ineffective', 'the outcome');
    assert.deepEqual([e.outcome, e.reason], ['effective', 'recovered'], e.message);
    assert.match(e.message, /1\/1 replicas ready and no new occurrence/);
    const groups = (await ks.client.get(`/api/errors?namespace=${ns}`, READ_TOKEN)).body.errors;
    assert.equal(groups[0].remediation.lastOutcome, 'effective');
    const metrics = (await ks.client.get('/metrics')).text;
    assert.match(metrics, /kube_sentinel_remediation_outcomes_total\{action="restart-pod",outcome="effective"\} [1-9]/);
  });

  it('two restarts whose replacement crash-loops again → ineffective twice → suspended and escalated; lifting lets the next signal act', async () => {
    const { ns, pod: p1 } = await crashingDeployment('api');
    assert.equal((await decide(ks, podAlert('verify-restart', ns, p1), ns)).outcome, 'acted');
    const p2 = await replacement(ns, 'api', p1);
    await env.scene.crashLoop(ns, p2);
    await sleep(1_100); // the rule's cooldown
    const second = await decide(ks, podAlert('verify-restart', ns, p2), ns);
    assert.equal(second.outcome, 'acted', second.message);
    await entry(ns, (a) => a.outcome === 'ineffective', 'the first outcome');
    const p3 = await replacement(ns, 'api', p2);
    await env.scene.crashLoop(ns, p3);
    await sleep(1_100);
    const r = await ks.client.post('/api/v2/alerts', podAlert('verify-restart', ns, p3));
    assert.equal(r.status, 200);
    const skipped = await entry(ns, (a) => a.reason === 'suspended', 'the suspended decision');
    assert.equal(skipped.outcome, 'skipped');
    const trail = (await audits(ks, ns)).map((a) => `${a.outcome}:${a.reason}`);
    assert.deepEqual(trail.filter((t) => /^(ineffective|escalated)/.test(t)), ['ineffective:recurred', 'ineffective:recurred', 'escalated:ineffective']);
    assert.equal((await request((skipped as Row).requestId)).state, 'suspended');
    const warning = await waitFor('the escalation Event', async () =>
      (await env.scene.events(ns, 'KubeSentinelRemediation')).find((e) => e.type === 'Warning' && /auto-remediation suspended/.test(e.message)) ?? null);
    assert.equal(warning.involvedObject.kind, 'Deployment');
    const live = await env.cp.admin.get(`/api/v1/namespaces/${ns}/pods/${p3}`);
    assert.equal(live.metadata.deletionTimestamp, undefined, 'the suspended request did not touch the pod');

    const [s] = (await ks.client.get('/api/suspensions?active=true', READ_TOKEN)).body.suspensions.filter((x: { namespace: string }) => x.namespace === ns);
    assert.equal(s.target, 'Deployment/api');
    assert.equal((await ks.client.delete(`/api/suspensions/${s.id}`, READ_TOKEN)).status, 401, 'a read token cannot lift it');
    const lifted = await ks.client.delete(`/api/suspensions/${s.id}`, ADMIN_TOKEN);
    assert.equal(lifted.status, 200, lifted.text);
    const after = await decide(ks, podAlert('verify-restart', ns, p3), ns);
    assert.equal(after.outcome, 'acted', after.message);
    assert.ok((await env.cp.admin.get(`/api/v1/namespaces/${ns}/pods/${p3}`)).metadata.deletionTimestamp, 'the lifted (rule, workload) acts again');
  });

  describe('approval', () => {
    async function awaiting(app: string): Promise<{ ns: string; pod: string; id: number; plan: string }> {
      const { ns, pod } = await crashingDeployment(app);
      const d = await decide(ks, podAlert('approve-restart', ns, pod), ns) as Row;
      assert.equal(d.outcome, 'awaiting-approval', d.message);
      return { ns, pod, id: d.requestId, plan: d.message };
    }
    const podLive = async (ns: string, pod: string) => (await env.cp.admin.get(`/api/v1/namespaces/${ns}/pods/${pod}`)).metadata;

    it('approve → acts once; the audit names the admin by a non-secret id; read and ingest tokens are refused', async () => {
      const { ns, pod, id, plan } = await awaiting('ap1');
      assert.match(plan, new RegExp(`^would delete pod ${ns}/${pod} \\(container app: CrashLoopBackOff\\), grace 30s, so Deployment/ap1 replaces it$`));
      assert.equal((await request(id)).plan, plan);
      assert.equal((await ks.client.post(`/api/remediations/${id}/approve`, {}, READ_TOKEN)).status, 401);
      assert.equal((await ks.client.post(`/api/remediations/${id}/approve`, {}, INGEST_TOKEN)).status, 401);
      assert.equal((await podLive(ns, pod)).deletionTimestamp, undefined, 'nothing happens while it waits');
      const ok = await ks.client.post(`/api/remediations/${id}/approve`, { comment: 'go' }, ADMIN_TOKEN);
      assert.equal(ok.status, 200, ok.text);
      const acted = await entry(ns, (a) => a.outcome === 'acted', 'the approved action');
      assert.equal(acted.requestId, id);
      assert.ok((await podLive(ns, pod)).deletionTimestamp, 'the pod is being deleted');
      const decisions = (await audits(ks, ns)).map((a) => `${a.outcome}:${a.reason}`);
      assert.deepEqual(decisions, ['awaiting-approval:approval-required', 'approved:human', 'acted:']);
      const approved = (await audits(ks, ns)).find((a) => a.outcome === 'approved')!;
      assert.match(approved.message, /^approved by admin:[0-9a-f]{8}: go/);
      assert.ok(!approved.message.includes(ADMIN_TOKEN));
      assert.equal((await ks.client.post(`/api/remediations/${id}/approve`, {}, ADMIN_TOKEN)).status, 409, 'decided once');
    });

    it('reject → never acts', async () => {
      const { ns, pod, id } = await awaiting('ap2');
      assert.equal((await ks.client.post(`/api/remediations/${id}/reject`, { comment: 'not now' }, ADMIN_TOKEN)).status, 200);
      await sleep(1500);
      assert.equal((await request(id)).state, 'rejected');
      assert.equal((await podLive(ns, pod)).deletionTimestamp, undefined);
      assert.deepEqual((await audits(ks, ns)).map((a) => a.outcome), ['awaiting-approval', 'rejected']);
    });

    it('unanswered → expired after remediation.approval_ttl, and can no longer be approved', async () => {
      const { ns, pod, id } = await awaiting('ap3');
      await entry(ns, (a) => a.outcome === 'expired', 'the expiry', APPROVAL_TTL_MS + 15_000);
      assert.equal((await request(id)).state, 'expired');
      assert.equal((await ks.client.post(`/api/remediations/${id}/approve`, {}, ADMIN_TOKEN)).status, 409);
      assert.equal((await podLive(ns, pod)).deletionTimestamp, undefined);
    });

    it('approved after the pod became healthy → verify-before-act skips it (pod-healthy)', async () => {
      const { ns, pod, id } = await awaiting('ap4');
      await env.scene.ready(ns, pod);
      assert.equal((await ks.client.post(`/api/remediations/${id}/approve`, {}, ADMIN_TOKEN)).status, 200);
      const e = await entry(ns, (a) => a.outcome === 'skipped', 'the re-verified decision');
      assert.equal(e.reason, 'pod-healthy');
      assert.equal((await podLive(ns, pod)).deletionTimestamp, undefined);
    });
  });
});
