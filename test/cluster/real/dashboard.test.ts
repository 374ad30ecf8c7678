// The approval loop end to end in real Chromium against the built server on the real control plane: a
// crash-loop alert whose rule needs approval waits on the overview with its plan in words; the Approve
// button appears once the admin token is entered; clicking it makes the leader delete the real pod (the
// ReplicaSet replaces it), and the error page shows awaiting-approval, approved, acted and — once the
// replacement reports ready for the whole window — effective.
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { chromiumPresent, enterAdminForApproval, launch, openPage } from '../../dashboard/harness.ts';
import { requireComponent, waitFor } from '../../support/proc.ts';
import { ADMIN_TOKEN, READ_TOKEN, type ServerProc } from '../../support/server-proc.ts';
import { clusterEnv, type ClusterEnv } from './env.ts';
import { podAlert, startSentinel } from './sentinel.ts';

const RULES = `
rules:
  - name: approved-restart
    match: {labels: {ks_test: approve}}
    priority: P1
    remediation: {action: restart-pod, cooldown: 1s, verify: 2s, approval: required}
`;

describe('cluster: the Approve button in Chromium, on a real cluster', function () {
  this.timeout(90_000);
  let env: ClusterEnv;
  let ks: ServerProc;
  let browser: Browser;

  before(async function () {
    requireComponent(this, 'Chromium at /usr/bin/chromium', chromiumPresent());
    env = clusterEnv();
    ks = await startSentinel(env, { name: 'ks-dash', rules: RULES });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await ks?.stop();
  });

  it('approve acts once on the live pod; plan text and outcome badges render', async () => {
    const ns = `dash-${Date.now() % 100_000}`;
    await env.scene.namespace(ns);
    await env.scene.deployment(ns, 'web');
    const [p] = await env.scene.livePods(ns, 'web', 1);
    const pod = p.metadata.name;
    await env.scene.crashLoop(ns, pod);
    assert.equal((await ks.client.post('/api/v2/alerts', podAlert('approve', ns, pod))).status, 200);
    await waitFor('the request awaits approval', async () =>
      (await ks.client.get('/api/remediations?state=awaiting-approval', READ_TOKEN)).body.total === 1, 15_000, 50);

    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(15_000);
    const { page, problems, foreign } = await openPage(context, ks.url);
    await page.goto(`${ks.url}/`);
    const { plan, approve } = await enterAdminForApproval(page, ADMIN_TOKEN);
    assert.match(plan, new RegExp(`^would delete pod ${ns}/${pod} .*CrashLoopBackOff.*grace 30s`));
    await approve.click();

    await waitFor('the pod is being deleted', async () =>
      Boolean((await env.cp.admin.get(`/api/v1/namespaces/${ns}/pods/${pod}`)).metadata.deletionTimestamp), 15_000, 100);
    const [replacement] = await env.scene.livePods(ns, 'web', 1);
    await env.scene.ready(ns, replacement.metadata.name);
    await page.locator('#approvals-empty').waitFor();
    const deletes = env.cp.writes().filter((w) => w.verb === 'delete' && w.objectRef.namespace === ns && w.objectRef.resource === 'pods' && w.code < 300);
    assert.equal(deletes.length, 1, 'one delete reached the apiserver');

    const groupId = (await ks.client.get(`/api/errors?namespace=${ns}`, READ_TOKEN)).body.errors[0].id;
    await page.goto(`${ks.url}/errors/${groupId}`);
    const history = page.locator('#remediation-history');
    await history.locator('.chip.outcome-effective').waitFor();
    for (const outcome of ['awaiting-approval', 'approved', 'acted', 'effective']) {
      assert.equal(await history.locator(`.chip.outcome-${outcome}`).count(), 1, `one ${outcome} badge`);
    }
    assert.deepEqual(problems, []);
    assert.deepEqual(foreign, []);
    await context.close();
  });
});
