// Remediation across three server processes on one PostgreSQL database and one fake Kubernetes API:
// alerts stream in through every replica while the Lease leader is SIGKILLed, frozen past its lease
// (SIGSTOP … SIGCONT) and terminated gracefully. Each replica reaches the fake through its own
// recording proxy (test/support/kube-fixture.ts), so every mutating call is attributed to a process.
//
// The scenarios run in order on the same replicas: "across the whole run" is the point of the last one.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeFixture, LEASE, replicaOf, startReplica, type CrashLoopTarget, type KubeCall, type Replica } from '../support/kube-fixture.ts';
import { builtServerPresent, requireComponent, waitFor } from '../support/proc.ts';
import { READ_TOKEN } from '../support/server-proc.ts';
import { postgresAvailable, TestDatabases, type TestDatabase } from './pg.ts';

// Short, but with a renew deadline that rides out the multi-second stalls of a loaded CI machine.
const TIMINGS = { leaseDuration: '4s', renewDeadline: '3s', retryPeriod: '500ms' };
const LEASE_MS = 4000;
const RETRY_MS = 500;
// A candidate retries at most retry_period apart, and exactly at the observed expiry (candidateWait).
const MAX_RETRY_WAIT = RETRY_MS;
// Proxy + fake round trips and event-loop delay of four Node processes and PostgreSQL on 2 cores.
const MARGIN_MS = 250;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `/api/stats` → `leader` is the remediation status, whose `leader` is the election's view. */
async function leaderStatus(r: Replica): Promise<{ isLeader: boolean; observedHolder: string; healthy: boolean }> {
  const res = await r.server.client.get('/api/stats', READ_TOKEN);
  assert.equal(res.status, 200);
  return res.body.leader.leader;
}

function crashLoopAlert(t: CrashLoopTarget) {
  const now = Date.now();
  return [{
    labels: { alertname: 'KubePodCrashLooping', namespace: t.namespace, pod: t.pod, container: 'main', severity: 'critical' },
    annotations: { summary: `Pod ${t.namespace}/${t.pod} is in CrashLoopBackOff` },
    startsAt: new Date(now - 60_000).toISOString(),
    endsAt: new Date(now + 240_000).toISOString(),
  }];
}

/**
 * A sender posting one new crash-loop alert at a time to the serving replicas in turn, retrying
 * another replica on failure like Prometheus does. Every target is used once: one remediation each.
 */
class AlertStream {
  readonly accepted: CrashLoopTarget[] = [];
  private readonly targets: CrashLoopTarget[];
  private readonly serving: () => Replica[];
  private turn = 0;
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(opts: { targets: CrashLoopTarget[]; serving: () => Replica[] }) {
    this.targets = [...opts.targets];
    this.serving = opts.serving;
  }

  nextTarget(): CrashLoopTarget {
    const t = this.targets.shift();
    if (!t) throw new Error('the fixture ran out of seeded targets');
    return t;
  }

  resume(): void {
    this.running = true;
    this.loop ??= (async () => {
      while (this.running) {
        await this.send(this.nextTarget());
        await sleep(120);
      }
      this.loop = null;
    })();
  }

  async pause(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async send(t: CrashLoopTarget): Promise<void> {
    // One payload for every attempt, as Prometheus resends the same alert: a retry after a replica
    // committed but could not answer is then a re-delivery, not a second occurrence (and request).
    const alert = crashLoopAlert(t);
    for (let attempt = 0; attempt < 6; attempt++) {
      const replicas = this.serving();
      const r = replicas[this.turn++ % replicas.length];
      const res = await r.server.client.post('/api/v2/alerts', alert).catch(() => null);
      if (res?.status === 200) {
        this.accepted.push(t);
        return;
      }
      await sleep(50);
    }
    throw new Error(`no replica accepted the alert for ${t.pod}`);
  }
}

describe('HA remediation: three processes, one Lease, one database', function () {
  this.timeout(120_000);
  const dbs = new TestDatabases();
  let db: TestDatabase;
  let dir: string;
  let fixture: KubeFixture;
  let serving: Replica[] = [];
  const everyone: Replica[] = [];
  let stream: AlertStream;
  let spawned = 0;

  const spawn = async () => {
    const r = await startReplica({ fixture, name: `ks-${spawned++}`, databaseUrl: db.url, timings: TIMINGS });
    everyone.push(r);
    return r;
  };
  const holderIdentity = () => fixture.leaseHolder(LEASE.namespace, LEASE.name);
  const leader = (): Replica => {
    const r = serving.find((x) => x.identity === holderIdentity());
    assert.ok(r, `the Lease holder ${holderIdentity()} is one of the serving replicas`);
    return r;
  };
  const podDeletes = () => fixture.api.mutations().filter((m) => m.resource === 'pods' && m.verb === 'delete');
  const eventCreates = () => fixture.api.mutations().filter((m) => m.resource === 'events' && m.verb === 'create');
  // A leader that loses the Lease between acting and recording the Event skips the Event (it is no
  // longer allowed to write) and says so in its log: the only place that decision is visible.
  const eventsSkipped = () => everyone.reduce((n, r) => n + (r.server.proc.output().match(/could not record the Kubernetes Event/g)?.length ?? 0), 0);
  /** The next accepted Lease write naming a holder other than `identity` (a takeover). */
  const takeoverFrom = (identity: string) =>
    fixture.nextAnswered((c) => c.holder !== null && c.holder !== '' && c.holder !== identity && c.status < 300);
  /** Stop sending, then wait until every accepted alert has been acted on and nothing is queued. */
  const drain = async () => {
    await stream.pause();
    let state = '';
    try {
      await waitFor('every accepted alert remediated', async () => {
        const acted = podDeletes().length;
        const events = eventCreates().length;
        const stats = await serving[0].server.client.get('/api/stats', READ_TOKEN);
        const pending = stats.body?.remediation?.pending;
        state = `accepted ${stream.accepted.length}, pod deletes ${acted}, events ${events} (+${eventsSkipped()} skipped), queued ${pending}`;
        return acted >= stream.accepted.length && events + eventsSkipped() >= acted && pending === 0;
      }, 20_000, 50);
    } catch (e) {
      throw new Error(`${(e as Error).message} (${state})`);
    }
  };

  before(async function () {
    requireComponent(this, 'PostgreSQL at 127.0.0.1:5432 (KS_TEST_PG_URL)', await postgresAvailable());
    requireComponent(this, 'the built server (npm run build)', builtServerPresent());
    dir = mkdtempSync(join(tmpdir(), 'ks-ha-rem-'));
    db = await dbs.create();
    fixture = new KubeFixture({ dir });
    await fixture.start();
    stream = new AlertStream({ targets: fixture.seedCrashLoops('shop', 400), serving: () => serving });
    // Three replicas migrating one empty database at once: the advisory lock serialises them.
    serving = await Promise.all([spawn(), spawn(), spawn()]);
  });

  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    // What the processes said and the last Lease traffic: the only trace left of a multi-process failure.
    for (const r of everyone) console.log(`--- ${r.name} (${r.identity}) ---\n${r.server.proc.output().slice(-4000)}`);
    const lease = fixture.calls.filter((c) => c.resource === 'leases' && c.mutating).slice(-12);
    console.log(lease.map((c) => `${c.at.toFixed(0)} ${c.replica} ${c.method} holder=${c.holder} → ${c.status}`).join('\n'));
  });

  after(async () => {
    await stream?.pause().catch(() => {});
    for (const r of everyone) {
      try { process.kill(r.pid, 'SIGCONT'); } catch { /* already gone */ }
      await r.server.stop('SIGKILL').catch(() => {});
    }
    await fixture?.close();
    await db?.drop();
    await dbs.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('elects one leader, and only the leader remediates alerts posted to any replica', async () => {
    await waitFor('a Lease holder', async () => serving.some((r) => r.identity === holderIdentity()), 10_000, 50);
    const first = leader();
    stream.resume();
    await waitFor('a few remediations', async () => podDeletes().length >= 6, 10_000, 50);
    await drain();
    const actors = new Set(fixture.calls.filter((c) => c.resource === 'pods' && c.method === 'DELETE').map((c) => c.replica));
    assert.deepEqual([...actors], [first.name]);
    for (const r of serving) {
      assert.equal((await leaderStatus(r)).isLeader, r === first, `${r.name} agrees on who leads`);
    }
  });

  it('SIGKILL of the leader mid-stream: another replica takes over, never before the old lease expired', async () => {
    // Killed between two remediations; alerts keep arriving through the failover and queue up for the
    // successor. (A leader killed in the middle of an action is test/ha/exactly-once.test.ts: its
    // successor takes the claim over at once and settles the intent against the live object.)
    await drain();
    const old = leader();
    serving = serving.filter((r) => r !== old);
    stream.resume();
    const takeover = takeoverFrom(old.identity);
    const killedAt = fixture.now();
    process.kill(old.pid, 'SIGKILL');
    const t = await takeover;
    const latency = t.at - killedAt;
    const lastRenewal = fixture.leaseWrites().filter((c) => c.holder === old.identity).at(-1)!;
    // Safety: a follower times the lease from when IT saw the last renewal, so it can never write
    // itself in less than lease_duration after that renewal reached the API server.
    assert.ok(t.at >= lastRenewal.at + LEASE_MS - 2, `takeover ${(t.at - lastRenewal.at).toFixed(0)} ms after the last renewal`);
    // Liveness: the followers see the last renewal at most one jittered retry late, count
    // lease_duration from then, and notice the expiry at most one jittered retry late.
    // The acceptance bound: lease_duration + retry_period (plus round trips on a loaded 2-core machine).
    const bound = LEASE_MS + RETRY_MS + MARGIN_MS;
    assert.ok(latency <= bound, `takeover ${latency.toFixed(0)} ms after SIGKILL (bound ${bound} ms)`);
    console.log(`      takeover ${latency.toFixed(0)} ms after SIGKILL (lease_duration + retry_period = ${LEASE_MS + RETRY_MS} ms)`);
    assert.equal(await old.server.proc.exited, null, 'killed by the signal');
    await sleep(1000);
    await drain();
    const after = fixture.calls.filter((c) => c.resource === 'pods' && c.method === 'DELETE' && c.at > killedAt);
    assert.ok(after.length > 0, 'alerts sent while leaderless were remediated');
    assert.deepEqual(new Set(after.map((c) => c.replica)), new Set([replicaOf(t.holder!)]));
    serving.push(await spawn());
  });

  it('SIGSTOP past its lease, then SIGCONT: the old leader makes no further mutating call', async () => {
    await drain();
    const stale = leader();
    serving = serving.filter((r) => r !== stale);
    stream.resume();
    // Freeze it between two renewals. A write already past its leadership check at the instant a
    // process freezes would still go out on SIGCONT: no Lease without fencing tokens can stop that,
    // so the test freezes the leader while idle, the case the renew deadline is there to handle.
    const renewal = await fixture.nextAnswered((c) => c.replica === stale.name && c.holder === stale.identity);
    process.kill(stale.pid, 'SIGSTOP');
    const stoppedAt = fixture.now();
    const takeover = takeoverFrom(stale.identity);
    // A sender still routed to the frozen replica: the request sits in its socket until SIGCONT and,
    // when ingested, wakes the stale worker at the very moment it resumes.
    const frozenTarget = stream.nextTarget();
    const frozenPost = stale.server.client.post('/api/v2/alerts', crashLoopAlert(frozenTarget));
    const successor = await takeover;
    await sleep(Math.max(0, renewal.at + LEASE_MS + RETRY_MS - fixture.now()));
    assert.equal(holderIdentity(), successor.holder, 'the successor still holds the Lease');

    process.kill(stale.pid, 'SIGCONT');
    assert.equal((await frozenPost).status, 200, 'the frozen replica ingests the queued alert on resume');
    stream.accepted.push(frozenTarget);
    await sleep(LEASE_MS);
    await drain();

    assert.deepEqual(fixture.mutationsBy(stale.name, stoppedAt), [], 'no mutating call after the freeze');
    const s = await leaderStatus(stale);
    assert.equal(s.isLeader, false);
    assert.equal(s.observedHolder, successor.holder, 'it has seen the new holder');
    assert.equal((await stale.server.client.get('/healthz')).status, 503, 'a leader that failed to renew reports unhealthy');
    const frozenDelete = podDeletes().filter((m) => m.name === frozenTarget.pod);
    assert.equal(frozenDelete.length, 1, 'the alert sent to the frozen replica was remediated once, by the successor');
    assert.equal(fixture.calls.find((c) => c.method === 'DELETE' && c.name === frozenTarget.pod)?.replica, replicaOf(successor.holder!));

    // Still nothing on its way out: a deposed replica that has seen the new holder does not release.
    assert.equal(await stale.server.stop('SIGTERM'), 0);
    assert.deepEqual(fixture.mutationsBy(stale.name, stoppedAt), []);
    serving.push(await spawn());
  });

  it('graceful SIGTERM of the leader releases the Lease and a follower takes over within one retry', async () => {
    await drain();
    const old = leader();
    serving = serving.filter((r) => r !== old);
    stream.resume();
    const release = fixture.nextAnswered((c) => c.replica === old.name && c.holder === '');
    const takeover = takeoverFrom(old.identity);
    const termAt = fixture.now();
    const exited = old.server.stop('SIGTERM');
    const [rel, t] = await Promise.all([release, takeover]);
    assert.ok(rel.status >= 200 && rel.status < 300, 'the release was accepted');
    assert.ok(t.at >= rel.at, 'the takeover follows the release');
    const latency = t.at - termAt;
    // Released means free at once: the next candidate attempt (≤ one jittered retry away) wins.
    assert.ok(latency <= MAX_RETRY_WAIT + MARGIN_MS, `takeover ${latency.toFixed(0)} ms after SIGTERM (bound ${MAX_RETRY_WAIT + MARGIN_MS} ms)`);
    console.log(`      takeover ${latency.toFixed(0)} ms after SIGTERM`);
    assert.equal(await exited, 0);
    assert.deepEqual(fixture.mutationsBy(old.name, rel.at).filter((c) => c !== rel), [], 'nothing after the release');
    await sleep(800);
    await drain();
  });

  it('across the whole run, every remediation request was executed exactly once, by the Lease holder', async () => {
    await drain();
    const accepted = stream.accepted;
    assert.ok(accepted.length >= 30, `a real stream (${accepted.length} alerts)`);
    assert.equal(new Set(accepted.map((t) => t.pod)).size, accepted.length);

    // Counted on the fake API server itself: one DELETE per accepted alert's pod, none for any other pod.
    const deletes = podDeletes();
    const perPod = new Map<string, number>();
    for (const d of deletes) perPod.set(d.name, (perPod.get(d.name) ?? 0) + 1);
    for (const t of accepted) assert.equal(perPod.get(t.pod), 1, `pod ${t.pod} deleted exactly once`);
    assert.equal(deletes.length, accepted.length);
    assert.ok(deletes.every((d) => d.status === 200));
    const events = eventCreates();
    assert.equal(events.length + eventsSkipped(), accepted.length, 'one KubeSentinelRemediation Event per action');
    assert.equal(new Set(events.map((e) => (e.body as { involvedObject: { name: string } }).involvedObject.name)).size, events.length);
    assert.ok(events.every((e) => (e.body as { reason?: string }).reason === 'KubeSentinelRemediation'));
    assert.deepEqual(new Set(fixture.api.mutations().map((m) => m.resource)), new Set(['leases', 'pods', 'events']));

    // Every remediation call came from the replica holding the Lease at that moment.
    const leaseWrites = fixture.leaseWrites();
    const holderAt = (c: KubeCall) => leaseWrites.filter((w) => w.at < c.at).at(-1)?.holder ?? '';
    for (const c of fixture.calls.filter((x) => x.mutating && x.resource !== 'leases')) {
      assert.equal(c.replica, replicaOf(holderAt(c)), `${c.method} ${c.path} by ${c.replica}`);
    }

    // The audit trail in the shared store agrees: one `acted` entry per request, by the acting leader.
    const entries: Array<{ outcome: string; target: string; requestId: number; actor: string }> = [];
    for (let page = 1; ; page++) {
      const res = await serving[0].server.client.get(`/api/history?page_size=100&page=${page}`, READ_TOKEN);
      assert.equal(res.status, 200);
      entries.push(...res.body.entries);
      if (res.body.entries.length < 100) break;
    }
    assert.deepEqual(new Set(entries.map((e) => e.outcome)), new Set(['acted']));
    assert.equal(entries.length, accepted.length);
    assert.equal(new Set(entries.map((e) => e.requestId)).size, accepted.length);
    assert.deepEqual(new Set(entries.map((e) => e.target)), new Set(accepted.map((t) => `Deployment/${t.app}`)));
    const deleter = new Map(fixture.calls.filter((c) => c.method === 'DELETE' && c.status === 200).map((c) => [c.name, c.replica]));
    const byApp = new Map(accepted.map((t) => [`Deployment/${t.app}`, t.pod]));
    for (const e of entries) assert.equal(replicaOf(e.actor), deleter.get(byApp.get(e.target)!), `audit actor of ${e.target}`);
  });
});
