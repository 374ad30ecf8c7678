// The leader's cost per queued remediation request in a storm (issue #12): `requests` new groups for
// one crash-looping pod are recorded the way ingest records them (the store on its own threads, as the
// server opens it, a file with synchronous=FULL), then one worker pass decides them (dry-run, no
// cluster: the first is a dry-run, every other one is skipped for cooldown). Prints the pass's wall
// time and this process's CPU (every thread) per request, and how many requests the worker decided
// one by one (the rest were decided by the shared cooldown skip, Store.skipAlike).
// Groups about one pod share one queued request (src/store/request-sharing.ts), so by default a pod's
// groups queue about one request; `alike` gives each group its own grace period, so every group queues
// a request of its own, alike the others for a cooldown skip (the storm before requests were shared).
//   node bench/decisions.ts [groups=5000] [pods=1] [shared|alike]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StaticLeadership } from '../src/leader/elector.ts';
import { RemediationWorker } from '../src/remediate/worker.ts';
import { ThreadedSqliteStore } from '../src/store/sqlite/threaded.ts';
import { systemClock } from '../src/domain/ports.ts';
import { requestItem } from '../test/remediate/requests.ts';

const REQUESTS = Number(process.argv[2] ?? 5000);
const PODS = Number(process.argv[3] ?? 1);
const ALIKE = process.argv[4] === 'alike';

const dir = mkdtempSync(join(tmpdir(), 'ks-decisions-'));
const store = await ThreadedSqliteStore.open({ path: join(dir, 'ks.db'), maxOccurrences: 10 });
try {
  await store.migrate();
  const settings = { enabled: true, dryRun: true, maxActionsPerHour: 100 };
  await store.putSettings(settings);
  const at = Date.now();
  const queued = new Set<number | null>();
  for (let b = 0; b < REQUESTS; b += 500) {
    const results = await store.record(Array.from({ length: Math.min(500, REQUESTS - b) }, (_, i) => requestItem({
      namespace: 'bench', pod: `web-7d9f8b6c5-${(b + i) % PODS}`, container: 'app', owner: { kind: 'Deployment', name: 'web' }, cooldownMs: 600_000, at,
      params: ALIKE ? { grace: String(b + i) } : {},
    })));
    for (const r of results) queued.add(r.remediationRequestId);
  }
  const leader = new StaticLeadership({ identity: 'bench' });
  leader.start();
  const worker = new RemediationWorker({
    store, kube: null, leader, defaults: settings, excludedNamespaces: [], maxAttempts: 3, clock: systemClock, random: Math.random,
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const oneByOne = await worker.runOnce();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const audited = (await store.listHistory({ page: 1, pageSize: 1 })).total;
  await leader.stop();
  console.log(`${REQUESTS} groups (${PODS} pod(s), ${ALIKE ? 'alike' : 'shared'}): ${queued.size} requests queued, ${audited} audited, `
    + `${oneByOne} decided one by one; ${wallMs.toFixed(0)} ms, ${(wallMs * 1000 / REQUESTS).toFixed(0)} µs wall and `
    + `${((cpu.user + cpu.system) / REQUESTS).toFixed(0)} µs CPU per group`);
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
