// Preload for bench/rss.ts (MEMPROBE=bench/memprobe.mjs): on SIGUSR2 the server prints its main-thread and worker V8 heap figures.
import { Worker, isMainThread } from 'node:worker_threads';
import v8 from 'node:v8';
if (isMainThread) {
  const workers = new Set();
  const orig = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (...a) { workers.add(this); return orig.apply(this, a); };
  process.on('SIGUSR2', async () => {
    const mb = (n) => (n / 2 ** 20).toFixed(1);
    const m = process.memoryUsage();
    const h = v8.getHeapStatistics();
    const lines = [`MEMPROBE main: rss ${mb(m.rss)} heapTotal ${mb(m.heapTotal)} heapUsed ${mb(m.heapUsed)} external ${mb(m.external)} arrayBuffers ${mb(m.arrayBuffers)} malloced ${mb(h.malloced_memory)} peakMalloced ${mb(h.peak_malloced_memory)}`];
    for (const w of workers) {
      try { const s = await w.getHeapStatistics(); lines.push(`MEMPROBE worker ${w.threadId}: total_heap ${mb(s.total_heap_size)} used ${mb(s.used_heap_size)} physical ${mb(s.total_physical_size)} malloced ${mb(s.malloced_memory)}`); } catch (e) { lines.push(`MEMPROBE worker err ${e.message}`); }
    }
    process.stderr.write(lines.join('\n') + '\n');
  });
}
