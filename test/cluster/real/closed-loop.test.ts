// Closing the loop on the real control plane (DESIGN §6a): the outcome of a restart is checked on the
// live workload (ready replacement → effective, still not ready at the end of the window →
// ineffective), two ineffective outcomes in a row suspend the rule for that workload until an admin
// lifts it, and a rule that requires approval waits for a human who approves, rejects or lets it expire.
import assert from 'node:assert/strict';
import { waitFor } from '../../support/proc.ts';
import { ADMIN_TOKEN, INGEST_TOKEN, READ_TOKEN, type ServerProc } from '../../support/server-proc.ts';
import { clusterEnv, type ClusterEnv } from './env.ts';
import { audits, decide, podAlert, startSentinel, type Audit } from './sentinel.ts';

const RULES = `
rules:
  - name: verified-restart
    match: {labels: {ks_test: verify}}
    priority: P1
    remediation: {action: restart-pod, cooldown: 1s, verify: 3s}
  - name: approved-restart
    match: {labels: {ks_test: approve}}
    priority: P1
    remediation: {action: restart-pod, cooldown: 1s, verify: "0", approval: required}
`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('cluster: closing the loop — outcome, suspension, approval', function () {
  this.timeout(120_000);
  let env: ClusterEnv;
  let ks: ServerProc;
  let seq = 0;

  before(async () => {
    env = clusterEnv();
    ks = await startSentinel(env, {
      name: 'ks-loop', rules: RULES,
      config: { remediation: { enabled: true, dry_run: false, max_actions_per_hour: 1000, max_attempts: 3, max_ineffective: 2, approval_ttl: '6s' } },
    });
  });
  after(async () => { await ks?.stop(); });

  async function crashing(name: string): Promise<{ ns: string; pod: string }> {
    const ns = `loop-${++seq}-${Date.now() % 100_000}`;
    await env.scene.namespace(ns);
    await env.scene.deployment(ns, name);
    const [p] = await env.scene.livePods(ns, name, 1);
    await env.scene.crashLoop(ns, p.metadata.name);
    return { ns, pod: p.metadata.name };
  }
  /** The pod that replaced `old` (the ReplicaSet's new one). */
  async function replacement(ns: string, app: string, old: string): Promise<string> {
    const [p] = await env.scene.livePods(ns, app, 1);
    assert.notEqual(p.metadata.name, old);
    return p.metadata.name;
  }
  const outcomeOf = (ns: string, n: number) => waitFor(`outcome #${n} in ${ns}`, async () => {
    const o = (await audits(ks, ns)).filter((a) => a.outcome === 'effective' || a.outcome === 'ineffective');
    return o.length >= n ? o[n - 1] : null;
  }, 20_000, 100);
  const isDeleted = async (ns: string, pod: string) => Boolean((await env.cp.admin.get(`/api/v1/namespaces/${ns}/pods/${pod}`)).metadata.deletionTimestamp);

  it('a restart whose replacement becomes ready is effective, on the audit and on the group', async () => {
    const { ns, pod } = await crashing('web');
    const d = await decide(ks, podAlert('verify', ns, pod), ns);
    assert.equal(d.outcome, 'acted', d.message);
    await env.scene.ready(ns, await replacement(ns, 'web', pod));
    const o = await outcomeOf(ns, 1);
    assert.equal(o.outcome, 'effective', o.message);
    const groups = (await ks.client.get(`/api/errors?namespace=${ns}`, READ_TOKEN)).body.errors;
    assert.equal(groups[0].remediation.lastOutcome, 'effective');
    const metrics = (await ks.client.get('/metrics')).text;
    assert.match(metrics, /kube_sentinel_remediation_outcomes_total\{[^}]*action="restart-pod"[^}]*outcome="effective"[^}]*\} [1-9]/);
  });

  it('two ineffective restarts in a row suspend the rule for the workload; lifting it lets the next signal act', async () => {
    const { ns, pod } = await crashing('api');
    assert.equal((await decide(ks, podAlert('verify', ns, pod), ns)).outcome, 'acted');
    // The replacement never becomes ready: at the end of the window the restart did not help.
    const pod2 = await replacement(ns, 'api', pod);
    assert.equal((await outcomeOf(ns, 1)).outcome, 'ineffective');
    await env.scene.crashLoop(ns, pod2);
    assert.equal((await decide(ks, podAlert('verify', ns, pod2), ns)).outcome, 'acted');
    const pod3 = await replacement(ns, 'api', pod2);
    assert.equal((await outcomeOf(ns, 2)).outcome, 'ineffective');
    const suspensions = await waitFor('a suspension', async () => {
      const s = (await ks.client.get('/api/suspensions?active=true', READ_TOKEN)).body.suspensions as any[];
      return s.find((x) => x.namespace === ns || JSON.stringify(x).includes(ns)) ?? null;
    });
    await env.scene.crashLoop(ns, pod3);
    await sleep(1_100);
    const held: Audit = await decide(ks, podAlert('verify', ns, pod3), ns);
    assert.ok(held.outcome === 'skipped' || held.outcome === 'escalated', `${held.outcome}/${held.reason}`);
    assert.equal(held.reason === 'suspended' || /suspend/.test(held.message), true, held.message);
    assert.equal(await isDeleted(ns, pod3), false, 'suspended: the pod was not touched');

    const denied = (await ks.client.delete(`/api/suspensions/${suspensions.id}`, READ_TOKEN)).status;
    assert.ok(denied === 401 || denied === 403, `a read token cannot lift it (HTTP ${denied})`);
    assert.equal((await ks.client.delete(`/api/suspensions/${suspensions.id}`, ADMIN_TOKEN)).status, 200);
    const after = await decide(ks, podAlert('verify', ns, pod3), ns);
    assert.equal(after.outcome, 'acted', after.message);
    assert.equal(await isDeleted(ns, pod3), true);
  });

  describe('approval', () => {
    async function awaiting(ns: string, pod: string): Promise<{ id: number; plan: string }> {
      const d = await decide(ks, podAlert('approve', ns, pod), ns);
      assert.equal(d.outcome, 'awaiting-approval', d.message);
      const list = await ks.client.get('/api/remediations?state=awaiting-approval&page_size=500', READ_TOKEN);
      const req = (list.body.remediations as any[]).find((r) => r.namespace === ns);
      assert.ok(req, 'listed as awaiting-approval');
      assert.match(req.plan, new RegExp(`delete pod ${ns}/${pod}`));
      assert.equal(await isDeleted(ns, pod), false, 'nothing happens before a human decides');
      return req;
    }
    const decision = (ns: string, outcome: string) => waitFor(`${outcome} in ${ns}`, async () =>
      (await audits(ks, ns)).find((a) => a.outcome === outcome) ?? null, 20_000, 100);

    it('approve acts once; read and ingest tokens cannot approve', async () => {
      const { ns, pod } = await crashing('web');
      const req = await awaiting(ns, pod);
      for (const token of [READ_TOKEN, INGEST_TOKEN]) {
        const r = await ks.client.post(`/api/remediations/${req.id}/approve`, {}, token);
        assert.ok(r.status === 401 || r.status === 403, `HTTP ${r.status}`);
      }
      const ok = await ks.client.post(`/api/remediations/${req.id}/approve`, { comment: 'go' }, ADMIN_TOKEN);
      assert.equal(ok.status, 200, ok.text);
      const acted = await decision(ns, 'acted');
      assert.match(acted.message, new RegExp(pod));
      assert.equal(await isDeleted(ns, pod), true);
      const again = await ks.client.post(`/api/remediations/${req.id}/approve`, {}, ADMIN_TOKEN);
      assert.equal(again.status, 409, 'a decided request cannot be approved twice');
      const approved = (await audits(ks, ns)).find((a) => a.outcome === 'approved');
      assert.ok(approved && !approved.message.includes(ADMIN_TOKEN), 'the audit names the admin by a non-secret id');
      assert.equal((await audits(ks, ns)).filter((a) => a.outcome === 'acted').length, 1);
    });

    it('reject never acts', async () => {
      const { ns, pod } = await crashing('web');
      const req = await awaiting(ns, pod);
      assert.equal((await ks.client.post(`/api/remediations/${req.id}/reject`, { comment: 'not now' }, ADMIN_TOKEN)).status, 200);
      await decision(ns, 'rejected');
      await sleep(1_500);
      assert.equal(await isDeleted(ns, pod), false);
      assert.equal((await audits(ks, ns)).filter((a) => a.outcome === 'acted').length, 0);
    });

    it('approving after the pod became healthy re-verifies and skips with pod-healthy', async () => {
      const { ns, pod } = await crashing('web');
      const req = await awaiting(ns, pod);
      await env.scene.ready(ns, pod);
      assert.equal((await ks.client.post(`/api/remediations/${req.id}/approve`, {}, ADMIN_TOKEN)).status, 200);
      const skipped = await decision(ns, 'skipped');
      assert.equal(skipped.reason, 'pod-healthy');
      assert.equal(await isDeleted(ns, pod), false);
    });

    it('an unanswered request expires after approval_ttl', async () => {
      const { ns, pod } = await crashing('web');
      const req = await awaiting(ns, pod);
      await waitFor('expired', async () => {
        const r = await ks.client.get('/api/remediations?state=expired&page_size=500', READ_TOKEN);
        return (r.body.remediations as any[]).some((x) => x.id === req.id);
      }, 20_000, 200);
      assert.equal((await ks.client.post(`/api/remediations/${req.id}/approve`, {}, ADMIN_TOKEN)).status, 409);
      assert.equal(await isDeleted(ns, pod), false);
    });
  });
});
