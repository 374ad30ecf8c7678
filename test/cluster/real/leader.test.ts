// Leader election on the real coordination.k8s.io/v1 Lease: three `role: webhook` replicas on one
// PostgreSQL, each with its own TokenRequest token of the chart's ServiceAccount, so the apiserver's
// audit log tells their writes apart. Throughout the failovers a sender posts crash-loop alerts about
// real crash-looping pods to the serving replicas in turn; at the end the audit log must show every
// pod deleted exactly once, each delete by the replica that held the Lease at that moment.
// Takeover times are printed for the closing note and docs.
import assert from 'node:assert/strict';
import { TestDatabases, type TestDatabase } from '../../ha/pg.ts';
import { waitFor } from '../../support/proc.ts';
import { READ_TOKEN, startServer, type ServerProc } from '../../support/server-proc.ts';
import { clusterEnv, type ClusterEnv } from './env.ts';
import { KS_NAMESPACE, installChartRbac, serviceAccountCredentials } from './sentinel.ts';

const TIMINGS = { lease_duration: '4s', renew_deadline: '3s', retry_period: '500ms' };
const LEASE_MS = 4_000;
const RETRY_MS = 500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Replica {
  name: string;
  server: ServerProc;
  credentialId: string;
}

describe('cluster: leader election on the real Lease, three replicas', function () {
  this.timeout(120_000);
  let env: ClusterEnv;
  const dbs = new TestDatabases();
  let db: TestDatabase;
  let leaseName: string;
  let replicas: Replica[] = [];

  async function spawn(name: string): Promise<Replica> {
    const cred = await serviceAccountCredentials(env);
    const server = await startServer({
      config: {
        role: 'webhook',
        store: { type: 'postgres', url: db.url },
        kubernetes: { in_cluster: false, kubeconfig: cred.kubeconfig },
        leader_election: { enabled: true, namespace: KS_NAMESPACE, lease_name: leaseName, ...TIMINGS },
        remediation: { enabled: true, dry_run: false, max_actions_per_hour: 1000 },
      },
      env: { POD_NAME: name, POD_NAMESPACE: KS_NAMESPACE },
    });
    return { name, server, credentialId: cred.credentialId };
  }

  const lease = () => env.cp.admin.find(`/apis/coordination.k8s.io/v1/namespaces/${KS_NAMESPACE}/leases/${leaseName}`);
  const holder = async () => ((await lease())?.spec?.holderIdentity ?? '') as string;
  async function isLeader(r: Replica): Promise<boolean> {
    const s = await r.server.client.get('/api/stats', READ_TOKEN).catch(() => null);
    return s?.body?.leader?.leader?.isLeader === true;
  }
  async function leaders(among: Replica[]): Promise<Replica[]> {
    const flags = await Promise.all(among.map(isLeader));
    return among.filter((_, i) => flags[i]);
  }
  /** The replica that leads by its own account and by the Lease, once exactly one does. */
  async function theLeader(among: Replica[], timeoutMs = 20_000): Promise<Replica> {
    return waitFor('exactly one leader', async () => {
      const l = await leaders(among);
      if (l.length !== 1) return null;
      return (await holder()).startsWith(`${l[0].name}_`) ? l[0] : null;
    }, timeoutMs, 50);
  }

  // The alert stream: one alert per crash-looping pod, to the serving replicas in turn.
  const STREAM_NS = `lead-${Date.now() % 100_000}`;
  const targets: string[] = [];
  const accepted: string[] = [];
  let streaming = false;
  let streamLoop: Promise<void> | null = null;
  const everyone: Replica[] = [];
  let turn = 0;
  function resumeStream() {
    streaming = true;
    streamLoop ??= (async () => {
      while (streaming && targets.length > 0) {
        const pod = targets.shift()!;
        for (let attempt = 0; attempt < 8; attempt++) {
          const r = replicas[turn++ % replicas.length];
          const res = await r.server.client.post('/api/v2/alerts', [{
            labels: { alertname: 'KubePodCrashLooping', namespace: STREAM_NS, pod, container: 'app', severity: 'critical' },
            annotations: { summary: `Pod ${STREAM_NS}/${pod} is in CrashLoopBackOff` }, startsAt: new Date(Date.now() - 60_000).toISOString(),
          }]).catch(() => null);
          if (res?.status === 200) { accepted.push(pod); break; }
          await sleep(50);
        }
        await sleep(700); // 40 targets spread over the ~30 s of failovers below
      }
      streamLoop = null;
    })();
  }
  async function pauseStream() {
    streaming = false;
    await streamLoop;
  }

  before(async () => {
    env = clusterEnv();
    leaseName = (await installChartRbac(env)).leaseName;
    db = await dbs.create();
    await env.scene.namespace(STREAM_NS);
    for (let i = 0; i < 40; i++) await env.scene.deployment(STREAM_NS, `app-${i}`);
    for (let i = 0; i < 40; i++) {
      const [p] = await env.scene.livePods(STREAM_NS, `app-${i}`, 1);
      await env.scene.crashLoop(STREAM_NS, p.metadata.name);
      targets.push(p.metadata.name);
    }
    replicas = [];
    for (const n of ['ks-a', 'ks-b', 'ks-c']) replicas.push(await spawn(n));
    everyone.push(...replicas);
    resumeStream();
  });
  after(async () => {
    await pauseStream();
    for (const r of everyone) {
      try { process.kill(r.server.proc.child.pid!, 'SIGCONT'); } catch { /* gone */ }
      await r.server.stop('SIGKILL').catch(() => {});
    }
    await db?.drop();
  });

  it('exactly one replica leads, and it is the Lease holder', async () => {
    const leader = await theLeader(replicas);
    for (let i = 0; i < 10; i++) {
      assert.deepEqual((await leaders(replicas)).map((r) => r.name), [leader.name]);
      await sleep(100);
    }
    const l = await lease();
    assert.equal(l.spec.leaseDurationSeconds, 4);
    assert.ok(l.spec.renewTime, 'renewTime is a MicroTime the apiserver accepted');
  });

  it('after SIGKILL of the leader another replica takes over within lease_duration + retry_period', async () => {
    const old = await theLeader(replicas);
    const killedAt = performance.now();
    await old.server.stop('SIGKILL');
    replicas = replicas.filter((r) => r !== old);
    const next = await theLeader(replicas, LEASE_MS + RETRY_MS + 10_000);
    const took = performance.now() - killedAt;
    console.log(`      SIGKILL takeover on the real Lease: ${(took / 1000).toFixed(2)} s (bound ${(LEASE_MS + RETRY_MS) / 1000} s)`);
    assert.notEqual(next.name, old.name);
    assert.ok(took <= LEASE_MS + RETRY_MS + 500, `takeover took ${took.toFixed(0)} ms`);
    replicas.push(await spawn('ks-d'));
    everyone.push(replicas.at(-1)!);
  });

  it('on SIGTERM the leader releases the Lease and another replica takes over at once', async () => {
    const old = await theLeader(replicas);
    const stoppedAt = performance.now();
    await old.server.stop('SIGTERM');
    replicas = replicas.filter((r) => r !== old);
    const next = await theLeader(replicas, 10_000);
    const took = performance.now() - stoppedAt;
    console.log(`      SIGTERM takeover on the real Lease: ${(took / 1000).toFixed(2)} s`);
    assert.notEqual(next.name, old.name);
    assert.ok(took < LEASE_MS, `a released Lease is taken before it would expire (${took.toFixed(0)} ms)`);
    const released = env.cp.writes().filter((w) => w.credentialId === old.credentialId && w.objectRef.resource === 'leases');
    assert.ok(released.length > 0, 'the old leader wrote the Lease (renewals and the release)');
    replicas.push(await spawn('ks-e'));
    everyone.push(replicas.at(-1)!);
  });

  it('a SIGSTOPped leader is replaced and never writes to the API after SIGCONT', async () => {
    const frozen = await theLeader(replicas);
    const pid = frozen.server.proc.child.pid!;
    process.kill(pid, 'SIGSTOP');
    let resumedAt = 0;
    try {
      const others = replicas.filter((r) => r !== frozen);
      const next = await theLeader(others, LEASE_MS + RETRY_MS + 10_000);
      assert.notEqual(next.name, frozen.name);
      await sleep(LEASE_MS); // well past the frozen one's lease
    } finally {
      resumedAt = Date.now();
      process.kill(pid, 'SIGCONT');
    }
    await sleep(3 * RETRY_MS + LEASE_MS);
    const after = env.cp.writes().filter((w) => w.credentialId === frozen.credentialId && w.at >= resumedAt - 50);
    assert.deepEqual(after.map((w) => `${w.verb} ${w.requestURI} → ${w.code}`), [], 'no write from the resumed replica reached the API');
    assert.equal(await isLeader(frozen), false);
    const h = await holder();
    assert.ok(!h.startsWith(`${frozen.name}_`), `the Lease stays with ${h}`);
  });

  it('every alerted pod was deleted exactly once, each time by the replica holding the Lease', async () => {
    await waitFor('the stream to send its last alert', async () => targets.length === 0, 40_000, 100);
    await pauseStream();
    assert.ok(accepted.length >= 30, `a real stream (${accepted.length} alerts accepted)`);
    const deletes = () => env.cp.writes().filter((w) => w.verb === 'delete' && w.objectRef.resource === 'pods' && w.objectRef.namespace === STREAM_NS);
    await waitFor('every accepted alert remediated', async () => new Set(deletes().filter((d) => d.code < 300).map((d) => d.objectRef.name)).size >= accepted.length, 30_000, 100)
      .catch(async (e) => {
        const h = await replicas[0].server.client.get('/api/history?page_size=500', READ_TOKEN);
        const outcomes = (h.body?.entries ?? []).map((x: any) => `${x.outcome}/${x.reason}`);
        throw new Error(`${e.message}: ${accepted.length} accepted, ${deletes().length} deletes; audit: ${[...new Set(outcomes)].join(', ')}`);
      });
    await sleep(2 * RETRY_MS);
    const applied = deletes().filter((d) => d.code < 300);
    const perPod = new Map<string, number>();
    for (const d of applied) perPod.set(d.objectRef.name!, (perPod.get(d.objectRef.name!) ?? 0) + 1);
    for (const pod of accepted) assert.equal(perPod.get(pod), 1, `pod ${pod} deleted exactly once`);
    assert.equal(applied.length, accepted.length, 'no other pod was deleted');
    // Who held the Lease when each delete reached the apiserver: the last accepted Lease write before it.
    const leaseWrites = env.cp.writes().filter((w) => w.objectRef.resource === 'leases' && w.objectRef.name === leaseName && w.code < 300);
    const byCredential = new Map(everyone.map((r) => [r.credentialId, r.name]));
    for (const d of applied) {
      const holderWrite = leaseWrites.filter((w) => w.at <= d.at).at(-1);
      assert.ok(holderWrite, 'a Lease write precedes every delete');
      assert.equal(byCredential.get(d.credentialId), byCredential.get(holderWrite.credentialId), `delete of ${d.objectRef.name} by the holder`);
    }
    const writers = new Set(applied.map((d) => byCredential.get(d.credentialId)));
    console.log(`      ${applied.length} pods restarted exactly once, by ${writers.size} successive leaders`);
  });
});
