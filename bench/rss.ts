// Where the server's RSS goes at 100k groups (issue #12, target ≤ 256 MiB): the built server loads
// `groups` distinct ≈1.1 KB alerts the way `npm run bench` (e) does, then this prints RSS, anonymous vs
// file-backed memory (/proc/<pid>/smaps_rollup) and the load time.
//   node bench/rss.ts [groups=100000]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadGroups } from './groups.ts';
import { testPki } from '../test/support/pki.ts';
import { INGEST_TOKEN, READ_TOKEN, startServer } from '../test/support/server-proc.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { alertScript, benchDescription, runWrk } from './wrk.ts';

const GROUPS = Number(process.argv[2] ?? 100_000);
const description = benchDescription();

function memory(pid: number): string {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (text: string, key: string): number => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(text)?.[1] ?? NaN);
  const mib = (k: number): string => `${(k / 1024).toFixed(0)} MiB`;
  return `RSS ${mib(kb(status, 'VmRSS'))} (anonymous ${mib(kb(status, 'RssAnon'))}, file ${mib(kb(status, 'RssFile'))}, shmem ${mib(kb(status, 'RssShmem'))}; `
    + `private dirty ${mib(kb(rollup, 'Private_Dirty'))}), threads ${/Threads:\s+(\d+)/.exec(status)?.[1]}`;
}

const pki = await testPki();
// MEMPROBE=bench/memprobe.mjs (absolute path): a preload (NODE_OPTIONS --import) that prints V8 heap figures on SIGUSR2.
// WITH_CLUSTER=1: a kubeconfig is configured (pointing at a closed loopback port), so the server loads
// @kubernetes/client-node as a webhook replica in a cluster does; without it no cluster, as in zero-config.
const cluster = process.env.WITH_CLUSTER === '1' ? (() => {
  const file = join(mkdtempSync(join(tmpdir(), 'ks-rss-kube-')), 'kubeconfig');
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
    clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:9', 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'u', user: { token: 'rss-bench' } }], contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }] }));
  return { kubernetes: { in_cluster: false, kubeconfig: file } };
})() : {};
// WITH_RECEIVER=1: a webhook receiver and a route to it (a closed loopback port), so the notifier plans
// every new group's event against it (the planning slices load their groups) as a configured one does.
const receiver = process.env.WITH_RECEIVER === '1'
  ? { notifications: { receivers: [{ name: 'hook', webhook: { url: 'https://127.0.0.1:9/hook' } }], routes: [{ receivers: ['hook'] }] } }
  : {};
if (process.env.WITH_RECEIVER === '1') console.log('with a notification receiver and route configured');
console.log(process.env.WITH_CLUSTER === '1' ? 'with a cluster configured (client-node loaded)' : 'no cluster configured (client-node not loaded)');
const server = await startServer({ config: { ...cluster, ...receiver }, env: { LOG_LEVEL: 'error', ...(process.env.MEMPROBE ? { NODE_OPTIONS: `--import ${process.env.MEMPROBE}` } : {}) } });
const pid = server.proc.child.pid!;
console.log(`idle: ${memory(pid)}`);
const seconds = await loadGroups({
  urls: [server.url], ca: pki.ca, count: GROUPS, description,
  onPost: (from) => { if ((from / 500) % 40 === 0) console.log(`  ${from} groups: ${memory(pid)}`); },
});
console.log(`after ${GROUPS} groups (${seconds.toFixed(1)} s): ${memory(pid)}`);
await new Promise((r) => setTimeout(r, 5000));
console.log(`5 s later: ${memory(pid)}`);
// READS=1: then the dashboard reads at this size, one client back to back (wrk -c1), like bench/ha.ts.
if (process.env.READS) {
  // Right after the load the leader still decides the new groups' remediation requests (the alerts
  // read as crash-looping pods; without a cluster each is a dry-run, committed at once, about 0.6 ms
  // of CPU); READS_AFTER seconds (default 60) let most of that finish, as a dashboard reader would see.
  await new Promise((r) => setTimeout(r, 1000 * Number(process.env.READS_AFTER ?? 60)));
  const dir = mkdtempSync(join(tmpdir(), 'ks-rss-'));
  const script = join(dir, 'get.lua');
  writeFileSync(script, `wrk.headers["Authorization"] = "Bearer ${READ_TOKEN}"\n`);
  for (const [label, query] of [['default listing', ''], ['filtered (namespace + priority)', '?namespace=ns-7&priority=P4'],
    ['q= selective', '?q=probe%2099'], ['q= shared by all', '?q=memory%20probe']] as const) {
    const r = await runWrk(`${server.url}/api/errors${query}`, { script, seconds: 10, connections: 1 });
    console.log(`GET /api/errors ${label}: p50 ${r.p50ms.toFixed(1)} ms, p99 ${r.p99ms.toFixed(1)} ms (${r.rps.toFixed(0)} req/s, ${r.non2xx + r.errors} errors)`);
  }
  // The default listing and a search while an alert storm arrives (64 new alerts per request, 16
  // connections): what a dashboard shows during the incident it is opened for. The search also reads
  // the groups the index has not caught up with yet (the exact test).
  for (const [label, query, tag] of [['default listing', '', 'storm'], ['q= selective', '?q=probe%2099', 'storm2']] as const) {
    const storm = alertScript(dir, { token: INGEST_TOKEN, batch: 64, path: '/api/v2/alerts', description, tag });
    const [reads, ingest] = await Promise.all([
      runWrk(`${server.url}/api/errors${query}`, { script, seconds: 10, connections: 1 }),
      runWrk(`${server.url}/api/v2/alerts`, { script: storm, seconds: 10, connections: 16 }),
    ]);
    console.log(`GET /api/errors ${label} during 64-alert posts: p50 ${reads.p50ms.toFixed(1)} ms, p99 ${reads.p99ms.toFixed(1)} ms `
      + `(${reads.rps.toFixed(0)} req/s, ${reads.non2xx + reads.errors} errors; ingest ${(ingest.rps * 64).toFixed(0)} alerts/s)`);
  }
}
if (process.env.MEMPROBE) {
  process.kill(pid, 'SIGUSR2');
  await new Promise((r) => setTimeout(r, 1000));
  console.log(server.proc.output().split('\n').filter((l) => l.includes('MEMPROBE')).join('\n'));
}
await server.stop();
