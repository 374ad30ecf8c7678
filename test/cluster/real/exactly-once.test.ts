// Exactly once across a SIGKILLed leader (DESIGN §6a) on the real apiserver: three `role: webhook`
// replicas on one PostgreSQL, each behind its own proxy. The leader's mutating call is stopped at its
// proxy before it reaches the apiserver (not landed) or after the apiserver applied it with the answer
// withheld (landed), and the leader is SIGKILLed there. The next leader settles the intent against the
// live object and finishes the request at once: the apiserver's audit log shows the write applied
// exactly once, the live object shows the effect once, and the request resumed within
// lease_duration + retry_period of the kill, not after the 2-minute claim.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { TestDatabases, type TestDatabase } from '../../ha/pg.ts';
import { waitFor } from '../../support/proc.ts';
import { READ_TOKEN, startServer, type ServerProc } from '../../support/server-proc.ts';
import { clusterEnv, type ClusterEnv } from './env.ts';
import { ReplicaProxies, type ProxiedCall } from './proxy.ts';
import { KS_NAMESPACE, installChartRbac, serviceAccountCredentials } from './sentinel.ts';

const TIMINGS = { lease_duration: '4s', renew_deadline: '3s', retry_period: '500ms' };
const LEASE_MS = 4000;
const RETRY_MS = 500;
// Round trips and event-loop delay of four Node processes, PostgreSQL and the control plane on 2 cores.
const MARGIN_MS = 1000;

const RULES = {
  rules: [
    { name: 'replicas-short', match: { labels: { alertname: 'KubeDeploymentReplicasShort' } }, priority: 'P2',
      remediation: { action: 'scale-up', params: { replicas: '+1', max_replicas: '10' }, cooldown: '1m', verify: '0' } },
    { name: 'bad-rollout', match: { labels: { alertname: 'BadRollout' } }, priority: 'P1',
      remediation: { action: 'rollback', cooldown: '1m', verify: '0' } },
    { name: 'crashloop', match: { labels: { alertname: 'KubePodCrashLooping' } }, priority: 'P1',
      remediation: { action: 'restart-pod', cooldown: '1m', verify: '0' } },
  ],
};

interface Replica { name: string; server: ServerProc; identity: string; pid: number }
interface AuditRow { outcome: string; requestId: number; actor: string; message: string; target: string }

describe('cluster: exactly once across a leader SIGKILLed between its intent and done', function () {
  this.timeout(180_000);
  let env: ClusterEnv;
  const dbs = new TestDatabases();
  let db: TestDatabase;
  let proxies: ReplicaProxies;
  let leaseName: string;
  let rulesFile: string;
  let ns: string;
  let serving: Replica[] = [];
  const everyone: Replica[] = [];
  const resumed: string[] = [];
  const seen = new Set<number>();
  let spawned = 0;
  let app = 0;

  async function spawn(): Promise<Replica> {
    const name = `once-${spawned++}`;
    const cred = await serviceAccountCredentials(env);
    const server = await startServer({
      config: {
        role: 'webhook', rules_file: rulesFile,
        store: { type: 'postgres', url: db.url },
        kubernetes: { in_cluster: false, kubeconfig: await proxies.kubeconfigFor(name, cred.token) },
        leader_election: { enabled: true, namespace: KS_NAMESPACE, lease_name: leaseName, ...TIMINGS },
        remediation: { enabled: true, dry_run: false, max_actions_per_hour: 1000 },
      },
      env: { POD_NAME: name, POD_NAMESPACE: KS_NAMESPACE },
    });
    const identity = (await server.client.get('/api/stats', READ_TOKEN)).body.identity as string;
    const r = { name, server, identity, pid: server.proc.child.pid! };
    everyone.push(r);
    return r;
  }
  const holder = async () => (await env.cp.admin.find(`/apis/coordination.k8s.io/v1/namespaces/${KS_NAMESPACE}/leases/${leaseName}`))?.spec?.holderIdentity ?? '';
  const leader = async () => waitFor('a serving Lease holder', async () => {
    const h = await holder();
    return serving.find((r) => r.identity === h);
  }, 20_000, 50);
  const history = async (): Promise<AuditRow[]> => {
    const res = await serving[0].server.client.get('/api/history?page_size=500', READ_TOKEN);
    assert.equal(res.status, 200);
    return res.body.entries;
  };
  /** Writes the apiserver applied to one object as Kube Sentinel (the chart's ServiceAccount, any replica). */
  const applied = (verb: string, resource: string, name: string) => env.cp.writes().filter((w) =>
    w.verb === verb && w.objectRef.resource === resource && w.objectRef.name === name && !w.objectRef.subresource &&
    w.code < 300 && w.username.startsWith(`system:serviceaccount:${KS_NAMESPACE}:`));

  before(async () => {
    env = clusterEnv();
    leaseName = `once-${Date.now() % 100_000}`;
    await installChartRbac(env);
    rulesFile = join(env.dir, 'once-rules.yaml');
    writeFileSync(rulesFile, stringify(RULES));
    proxies = new ReplicaProxies({ url: env.cp.url, ca: env.cp.ca, dir: env.dir });
    db = await dbs.create();
    ns = `once-${Date.now() % 100_000}`;
    await env.scene.namespace(ns);
    serving = await Promise.all([spawn(), spawn(), spawn()]);
    await leader();
  });
  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    for (const r of everyone) console.log(`--- ${r.name} (${r.identity}) ---\n${r.server.proc.output().slice(-3000)}`);
  });
  after(async () => {
    for (const r of everyone) await r.server.stop('SIGKILL').catch(() => {});
    await proxies?.close();
    await db?.drop();
    if (resumed.length) console.log(`      resumed after SIGKILL: ${resumed.join(', ')}`);
  });

  /** Posts `alert`, stops the leader's matching call at its proxy, SIGKILLs it, waits for the successor's `acted`. */
  async function crashMidAction(alert: Record<string, string>, match: (c: ProxiedCall) => boolean, phase: 'before' | 'after', label: string): Promise<AuditRow> {
    const old = await leader();
    const hold = proxies.hold((c) => c.replica === old.name && match(c), phase);
    const now = Date.now();
    const res = await serving[0].server.client.post('/api/v2/alerts', [{
      labels: { namespace: ns, severity: 'critical', ...alert }, annotations: { summary: alert.alertname },
      startsAt: new Date(now - 60_000).toISOString(), endsAt: new Date(now + 600_000).toISOString(),
    }]);
    assert.equal(res.status, 200);
    await Promise.race([hold.held, new Promise((_, reject) => setTimeout(() => reject(new Error('the leader never made the call')), 20_000))]);
    const killedAt = performance.now();
    process.kill(old.pid, 'SIGKILL');
    serving = serving.filter((r) => r !== old);
    const row = await waitFor('the successor finishes the request', async () =>
      (await history()).find((e) => e.outcome === 'acted' && e.actor !== old.identity && !seen.has(e.requestId)), 30_000, 25);
    const ms = performance.now() - killedAt;
    seen.add(row.requestId);
    resumed.push(`${label} ${(ms / 1000).toFixed(2)} s`);
    const bound = LEASE_MS + RETRY_MS + MARGIN_MS;
    assert.ok(ms <= bound, `${label}: resumed ${ms.toFixed(0)} ms after SIGKILL (bound ${bound} ms)`);
    assert.equal((await history()).filter((e) => e.requestId === row.requestId && e.outcome === 'acted').length, 1);
    serving.push(await spawn());
    return row;
  }

  for (const phase of ['before', 'after'] as const) {
    const variant = phase === 'after' ? 'landed' : 'not landed';

    it(`scale-up +1, ${variant}: exactly one replica more, one PATCH applied`, async () => {
      const name = `web-${++app}`;
      await env.scene.deployment(ns, name, { replicas: 3 });
      await crashMidAction({ alertname: 'KubeDeploymentReplicasShort', deployment: name },
        (c) => c.method === 'PATCH' && c.path.includes(`/deployments/${name}`), phase, `scale-up ${variant}`);
      assert.equal((await env.cp.admin.get(`/apis/apps/v1/namespaces/${ns}/deployments/${name}`)).spec.replicas, 4);
      assert.equal(applied('patch', 'deployments', name).length, 1, 'one PATCH applied by the apiserver');
    });

    it(`restart-pod, ${variant}: the pod deleted exactly once`, async () => {
      const name = `api-${++app}`;
      await env.scene.deployment(ns, name);
      const [p] = await env.scene.livePods(ns, name, 1);
      await env.scene.crashLoop(ns, p.metadata.name);
      const row = await crashMidAction({ alertname: 'KubePodCrashLooping', pod: p.metadata.name, container: 'app' },
        (c) => c.method === 'DELETE' && c.path.includes(`/pods/${p.metadata.name}`), phase, `restart-pod ${variant}`);
      assert.equal(applied('delete', 'pods', p.metadata.name).length, 1, 'one DELETE applied by the apiserver');
      assert.ok((await env.cp.admin.get(`/api/v1/namespaces/${ns}/pods/${p.metadata.name}`)).metadata.deletionTimestamp);
      assert.equal(row.target, `Deployment/${name}`);
    });

    it(`rollback, ${variant}: exactly one revision back, one PATCH applied`, async () => {
      const name = `shop-${++app}`;
      await env.scene.deployment(ns, name, { image: 'registry.example/shop:1' });
      await env.scene.livePods(ns, name, 1);
      await env.cp.admin.mergePatch(`/apis/apps/v1/namespaces/${ns}/deployments/${name}`, {
        spec: { template: { spec: { containers: [{ name: 'app', image: 'registry.example/shop:2' }] } } },
      });
      const v2 = await waitFor('a revision-2 pod', async () =>
        (await env.scene.pods(ns, name)).find((x) => !x.metadata.deletionTimestamp && x.spec.containers[0].image.endsWith(':2')) ?? null);
      await env.scene.crashLoop(ns, v2.metadata.name);
      await crashMidAction({ alertname: 'BadRollout', pod: v2.metadata.name, container: 'app' },
        (c) => c.method === 'PATCH' && c.path.includes(`/deployments/${name}`), phase, `rollback ${variant}`);
      const dep = await env.cp.admin.get(`/apis/apps/v1/namespaces/${ns}/deployments/${name}`);
      assert.equal(dep.spec.template.spec.containers[0].image, 'registry.example/shop:1');
      assert.equal(applied('patch', 'deployments', name).length, 1, 'one PATCH applied by the apiserver');
    });
  }

  it('SIGSTOP mid scale-up, SIGCONT after the successor acted: the frozen leader\'s late write is refused (409), one replica more', async () => {
    const name = `web-${++app}`;
    await env.scene.deployment(ns, name, { replicas: 3 });
    const old = await leader();
    const hold = proxies.hold((c) => c.replica === old.name && c.method === 'PATCH' && c.path.includes(`/deployments/${name}`), 'before');
    const now = Date.now();
    assert.equal((await serving[0].server.client.post('/api/v2/alerts', [{
      labels: { alertname: 'KubeDeploymentReplicasShort', namespace: ns, deployment: name, severity: 'critical' }, annotations: { summary: 'short' },
      startsAt: new Date(now - 60_000).toISOString(), endsAt: new Date(now + 600_000).toISOString(),
    }])).status, 200);
    await hold.held;
    process.kill(old.pid, 'SIGSTOP');
    serving = serving.filter((r) => r !== old);
    const row = await waitFor('the successor finishes the request', async () =>
      (await history()).find((e) => e.outcome === 'acted' && e.actor !== old.identity && !seen.has(e.requestId)), 30_000, 25);
    seen.add(row.requestId);
    assert.equal((await env.cp.admin.get(`/apis/apps/v1/namespaces/${ns}/deployments/${name}`)).spec.replicas, 4);
    process.kill(old.pid, 'SIGCONT');
    assert.equal(await hold.release(), 409, 'the frozen leader\'s write carries the resourceVersion it read: refused');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await env.cp.admin.get(`/apis/apps/v1/namespaces/${ns}/deployments/${name}`)).spec.replicas, 4, 'still exactly one replica more');
    assert.equal(applied('patch', 'deployments', name).length, 1, 'one PATCH applied by the apiserver');
    assert.equal((await history()).filter((e) => e.requestId === row.requestId && e.outcome === 'acted').length, 1);
    await old.server.stop('SIGKILL');
    serving.push(await spawn());
  });
});
