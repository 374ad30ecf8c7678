// Throughput of SqliteStore.record on a real file with synchronous=FULL (not a mocha test):
//   node test/store/measure.ts [seconds-per-case]
// Prints items/s (wall clock, fsync included) and CPU µs per item for distinct-fingerprint batches of
// 500 and 64 items, one item per commit, and the re-delivery path (same occurrence keys again: no
// count, no occurrence row, no request).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import type { RecordItem } from '../../src/store/types.ts';
import { makeItem, restartPod, T0 } from './factory.ts';

const seconds = Number(process.argv[2] ?? 2);

// Re-deliveries reuse the same fingerprints and keys with a later receipt time. A tenth of the items
// carry a remediation action, so the request path is part of the cost.
function itemFor(n: number, redeliver: boolean): RecordItem {
  return makeItem({
    fingerprint: `fp-${n.toString(16).padStart(12, '0')}`,
    receivedAt: T0 + n + (redeliver ? 60_000 : 0),
    signal: { occurrenceKey: `key-${n}`, pod: `web-${n % 97}` },
    classification: n % 10 === 0 ? { remediation: restartPod() } : {},
  });
}

function batchOf(size: number, start: number, redeliver: boolean): RecordItem[] {
  return Array.from({ length: size }, (_, i) => itemFor(start + i, redeliver));
}

async function measure(label: string, size: number, redeliver: boolean): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ks-measure-'));
  const store = new SqliteStore({ path: join(dir, 'ks.db'), maxOccurrences: 50 });
  await store.migrate();
  try {
    let done = 0;
    // Pre-build batches so only record() is timed.
    const batches: RecordItem[][] = [];
    const budget = Math.min(400_000, size * 4000);
    for (let start = 0; start < budget; start += size) batches.push(batchOf(size, start, false));
    if (redeliver) {
      for (const b of batches) await store.record(b);
      batches.length = 0;
      for (let start = 0; start < budget; start += size) batches.push(batchOf(size, start, true));
    }
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    for (const b of batches) {
      await store.record(b);
      done += b.length;
      if (performance.now() - t0 > seconds * 1000) break;
    }
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const cpuUs = (cpu.user + cpu.system) / done;
    // Wall time includes fsync waits; CPU per item is the steadier number on a shared machine.
    console.log(`${label.padEnd(32)} ${String(Math.round(done / (ms / 1000))).padStart(7)} items/s wall` +
      `  ${cpuUs.toFixed(1).padStart(6)} µs CPU/item  (${done} items)`);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const cases: Array<[string, number, boolean]> = [
  ['new groups, 500 per commit', 500, false],
  ['new groups, 64 per commit', 64, false],
  ['new groups, 1 per commit', 1, false],
  ['re-deliveries, 500 per commit', 500, true],
  ['re-deliveries, 64 per commit', 64, true],
  ['re-deliveries, 1 per commit', 1, true],
];
const only = process.argv[3];
for (const [label, size, redeliver] of cases) {
  if (!only || label.includes(only)) await measure(label, size, redeliver);
}
