// Deterministic write-path measurements of the SQLite store (issue #12), unaffected by how busy the
// machine is: WAL bytes written per alert and rows per commit, on a real file with synchronous=FULL.
//   node bench/wal.ts [groups=50000]
// Items are built the way the server builds them (the bench's ≈1.1 KB Prometheus alert through
// parseAlerts, the default rules, toRecordItem), so row sizes (message, labels, the classification's
// reason) are the real ones. Also prints the structured-clone size of a batch as posted to the store
// thread (ThreadedSqliteStore) and its clone time, and the CPU the search index costs per 500 new
// groups once they are indexed after their commits (migration V7; the ingest commits above exclude it).
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serialize } from 'node:v8';
import { DatabaseSync } from 'node:sqlite';
import { loadRulesFile } from '../src/classify/load.ts';
import { defaultRulesPath } from '../src/classify/defaults.ts';
import { parseAlerts } from '../src/ingest/alerts.ts';
import { toRecordItem } from '../src/pipeline.ts';
import { SqliteStore } from '../src/store/sqlite/store.ts';
import { toWire } from '../src/store/wire.ts';
import type { RecordItem } from '../src/store/types.ts';
import { benchDescription } from './wrk.ts';

const GROUPS = Number(process.argv[2] ?? 50_000);
const BATCH = 500;
const description = benchDescription();
const rules = await loadRulesFile(defaultRulesPath());

/** The bench's alert (bench/wrk.ts), alertname `name`. */
function alert(name: string) {
  return {
    labels: { alertname: name, namespace: 'bench', pod: 'web-7d9f8b6c5-x2k4q', container: 'app', severity: 'warning' },
    annotations: { summary: 'bench alert', description },
    startsAt: '2026-11-21T22:27:44.426Z', endsAt: '2099-01-01T00:00:00Z', generatorURL: 'http://prometheus:9090/graph',
  };
}

function items(names: string[], now: number): RecordItem[] {
  const parsed = parseAlerts(names.map(alert), now);
  if (!('signals' in parsed)) throw new Error('parse failed');
  return parsed.signals.map((s) => toRecordItem(s, rules, now)!);
}

const dir = mkdtempSync(join(tmpdir(), 'ks-wal-'));
const path = join(dir, 'ks.db');
const store = new SqliteStore({ path, maxOccurrences: 50, autoCheckpoint: false, searchIndexing: 'manual' });
await store.migrate();
// The search file built (empty) now: every group after this waits in the queue until the flush below.
await store.flushSearchIndex();
const ckpt = new DatabaseSync(path);
const FRAME = 4096 + 24;
const walFrames = (): number => { try { return (statSync(`${path}-wal`).size - 32) / FRAME; } catch { return 0; } };
/** WAL frames of the last commit(s) by the table or index their page belongs to (dbstat page numbers). */
function walByObject(): string {
  const wal = readFileSync(`${path}-wal`);
  const pages: number[] = [];
  for (let off = 32; off + FRAME <= wal.length; off += FRAME) pages.push(wal.readUInt32BE(off));
  const owner = new Map<number, string>();
  for (const r of ckpt.prepare('SELECT name, pageno FROM dbstat').all() as Array<{ name: string; pageno: number }>) owner.set(r.pageno, r.name);
  const count = new Map<string, number>();
  for (const p of pages) { const k = owner.get(p) ?? '(new/free)'; count.set(k, (count.get(k) ?? 0) + 1); }
  return [...count].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
}
const truncate = (): void => { ckpt.exec('PRAGMA wal_checkpoint(TRUNCATE)'); };

let now = Date.parse('2026-12-06T00:00:00Z');
let n = 0;
const fresh = (k: number): string[] => Array.from({ length: k }, () => `Bench_w_${n++}`);
try {
  while (n < GROUPS) {
    await store.record(items(fresh(BATCH), now += 10));
    if (n % 10_000 === 0) truncate();
  }
  truncate();
  // Ten batches each, the WAL emptied before each: frames are exact, CPU is the median batch.
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[xs.length >> 1];
  const cpuOf = async (b: RecordItem[]): Promise<number> => {
    const c0 = process.cpuUsage();
    await store.record(b);
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000;
  };
  const batches = Array.from({ length: 10 }, () => items(fresh(BATCH), now += 10));
  const batch = batches[0];
  const newCpu: number[] = [];
  let newFrames = 0;
  let newBy = '';
  for (const b of batches) {
    (globalThis as { __measure?: unknown }).__measure = process.env.STMT && b === batches.at(-1);
    newCpu.push(await cpuOf(b));
    (globalThis as { __measure?: unknown }).__measure = false;
    newFrames += walFrames() / batches.length;
    if (b === batches.at(-1)) newBy = walByObject();
    truncate();
  }
  (globalThis as { __report?: () => void }).__report?.();
  // The same alerts again, later: re-deliveries (no count, no occurrence row).
  const reCpu: number[] = [];
  let reFrames = 0;
  let reBy = '';
  for (const b of batches) {
    reCpu.push(await cpuOf(items(b.map((i) => i.signal.title), now += 10)));
    reFrames += walFrames() / batches.length;
    if (b === batches.at(-1)) reBy = walByObject();
    truncate();
  }
  const cpu = median(newCpu);
  const cpuRe = median(reCpu);
  // New groups enter the search index after their commit (V7; in its own file since V11): what that costs per 500.
  const f0 = process.cpuUsage();
  const indexed = await store.flushSearchIndex();
  const f = process.cpuUsage(f0);
  const indexCpu = (f.user + f.system) / 1000 / (indexed / BATCH);
  const one = items(fresh(1), now += 10);
  await store.record(one);
  const oneFrames = walFrames();
  truncate();
  const wire = toWire(batch);
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) structuredClone(batch);
  const cloneFull = (performance.now() - t0) / 20;
  const t1 = performance.now();
  for (let i = 0; i < 20; i++) structuredClone(toWire(batch));
  const cloneWire = (performance.now() - t1) / 20;
  const db = new DatabaseSync(path, { readOnly: true });
  const size = (table: string): string => {
    const r = db.prepare(`SELECT sum(pgsize) AS bytes, sum(unused) AS unused FROM dbstat WHERE name = ?`).get(table) as { bytes: number; unused: number };
    return `${table} ${(r.bytes / 2 ** 20).toFixed(1)} MiB (${(r.unused / 2 ** 20).toFixed(1)} unused)`;
  };
  let sizes = '';
  try { sizes = ['error_groups', 'occurrences', 'search_queue'].map(size).join(', '); } catch (err) { sizes = `dbstat unavailable: ${(err as Error).message}`; }
  db.close();
  console.log(`at ${GROUPS} groups, ${BATCH}-alert commits, 4 KiB pages:`);
  console.log(`  new alerts:   ${(newFrames * FRAME / BATCH / 1024).toFixed(2)} KiB WAL per alert (${newFrames.toFixed(0)} frames), store CPU ${cpu.toFixed(0)} ms per batch (median of 10)`);
  console.log(`  search index, after the commits: ${indexed} groups, ${indexCpu.toFixed(1)} ms CPU per ${BATCH} (2000 per transaction)`);
  console.log(`  re-sent:      ${(reFrames * FRAME / BATCH / 1024).toFixed(2)} KiB WAL per alert (${reFrames.toFixed(0)} frames), store CPU ${cpuRe.toFixed(0)} ms per batch (median of 10)`);
  console.log(`  frames by object, new: ${newBy}`);
  console.log(`  frames by object, re-sent: ${reBy}`);
  console.log(`  one new alert per commit: ${oneFrames} WAL frames`);
  console.log(`  posted to the store thread per batch: RecordItems ${(serialize(batch).length / 1024).toFixed(0)} KiB (clone ${cloneFull.toFixed(2)} ms), wire form ${(serialize(wire).length / 1024).toFixed(0)} KiB (build + clone ${cloneWire.toFixed(2)} ms)`);
  console.log(`  ${sizes}`);
} finally {
  ckpt.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
