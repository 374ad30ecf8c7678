// CPU profile of the built server under one side-by-side load (issue #12): proportions, not speed, so
// it can run on a busy machine.
//   node bench/profile.ts [same|new|new64] [seconds=10] [postgres-url]
// PROFILE_CONFIG='{"remediation":{"enabled":false}}' merges config keys into the server's (JSON).
// Starts dist/main.js with --cpu-prof (every thread writes a profile), drives wrk -t2 -c64 with the
// bench's alerts, stops the server and prints, per thread, the idle share and the top self-time
// functions, plus one line of totals grouped by area (store/, sqlite/, http/, …).
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INGEST_TOKEN, startServer } from '../test/support/server-proc.ts';
import { commitsText, commitTotals, loadByKey, NO_COMMITS, WRK } from './sidebyside.ts';
import { alertScript, benchDescription, runWrk } from './wrk.ts';

const load = loadByKey(process.argv[2] ?? 'new64');
const seconds = Number(process.argv[3] ?? 10);
const pgUrl = process.argv[4];
const description = benchDescription();

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[] }

function area(url: string, fn: string): string {
  if (fn === '(idle)' || fn === '(program)' || fn === '(garbage collector)') return fn;
  const m = /\/(?:dist|src)\/([^/]+)(?:\/([^/]+))?/.exec(url);
  if (m) return m[2] && !m[2].includes('.') ? `${m[1]}/${m[2]}` : m[1];
  if (url.includes('node_modules/')) return url.replace(/.*node_modules\/((?:@[^/]+\/)?[^/]+).*/, '$1');
  if (url.startsWith('node:')) return url;
  return url === '' ? '(native)' : 'other';
}

function summarize(file: string): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let total = 0;
  p.samples.forEach((id, i) => { const dt = p.timeDeltas[i] ?? 0; total += dt; self.set(id, (self.get(id) ?? 0) + dt); });
  const byFn = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, t] of self) {
    const n = byId.get(id)!;
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/.*\/(dist|src|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + t);
    const a = area(f.url, f.functionName);
    byArea.set(a, (byArea.get(a) ?? 0) + t);
  }
  const pct = (t: number): string => `${((100 * t) / total).toFixed(1)}%`;
  console.log(`\n${file.split('/').pop()}: ${(total / 1e6).toFixed(1)} s sampled`);
  console.log(`  by area: ${[...byArea].sort((a, b) => b[1] - a[1]).slice(0, 14).map(([k, v]) => `${k} ${pct(v)}`).join(', ')}`);
  for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 18)) console.log(`  ${pct(v).padStart(6)}  ${k}`);
}

const profDir = mkdtempSync(join(tmpdir(), 'ks-prof-'));
const config = process.env.PROFILE_CONFIG ? JSON.parse(process.env.PROFILE_CONFIG) : pgUrl ? { store: { type: 'postgres', url: pgUrl } } : undefined;
const server = await startServer({ env: { LOG_LEVEL: 'error', NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profDir}` }, ...(config ? { config } : {}) });
const dir = mkdtempSync(join(tmpdir(), 'ks-prof-wrk-'));
const script = alertScript(dir, { token: INGEST_TOKEN, batch: load.batch, path: '/api/v2/alerts', description, tag: `p${Date.now()}`, same: load.same });
const r = await runWrk(`${server.url}/api/v2/alerts`, { script, seconds, ...WRK, ...(process.env.WRK_C ? { threads: 1, connections: Number(process.env.WRK_C) } : {}) });
console.log(`${load.key}: ${r.rps.toFixed(0)} req/s (${(r.rps * load.batch).toFixed(0)} alerts/s), p99 ${r.p99ms} ms, non-2xx ${r.non2xx}, errors ${r.errors}`);
const metrics = (await server.client.get('/metrics')).text;
console.log(`commits: ${commitsText(NO_COMMITS, commitTotals(metrics))}`);
await server.stop();
for (const f of readdirSync(profDir).filter((x) => x.endsWith('.cpuprofile')).sort()) summarize(join(profDir, f));
