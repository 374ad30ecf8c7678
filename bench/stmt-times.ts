// Per-statement wall time of node:sqlite calls, for bench/wal.ts: STMT=1 node --import ./bench/stmt-times.ts bench/wal.ts
// (times the last measured new-alert batch and prints them, slowest first).
import { StatementSync, DatabaseSync } from 'node:sqlite';
const times = new Map<string, [number, number]>();
for (const m of ['all', 'run', 'get'] as const) {
  const orig = (StatementSync.prototype as any)[m];
  (StatementSync.prototype as any)[m] = function (...a: unknown[]) {
    const t = performance.now();
    try { return orig.apply(this, a); } finally {
      if ((globalThis as Record<string, any>).__measure) {
        const k = (this.sourceSQL as string).replace(/\s+/g, ' ').slice(0, 60);
        const e = times.get(k) ?? [0, 0]; e[0] += performance.now() - t; e[1]++; times.set(k, e);
      }
    }
  };
}
const origExec = DatabaseSync.prototype.exec;
DatabaseSync.prototype.exec = function (sql: string) {
  const t = performance.now();
  try { return origExec.call(this, sql); } finally {
    if ((globalThis as Record<string, any>).__measure) { const k = 'exec ' + sql.slice(0, 40); const e = times.get(k) ?? [0, 0]; e[0] += performance.now() - t; e[1]++; times.set(k, e); }
  }
};
(globalThis as Record<string, any>).__report = () => { for (const [k, [t, n]] of [...times].sort((a, b) => b[1][0] - a[1][0])) console.log(`${t.toFixed(1).padStart(8)} ms ${String(n).padStart(6)}x  ${k}`); times.clear(); };
