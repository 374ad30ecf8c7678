// Keeps a helper thread of the SQLite store running (the search indexer: ThreadedSqliteStore). A
// helper whose loss would go unnoticed (searches still answer, scanning an ever longer queue) must
// come back on its own, and keep trying when coming back fails too.
import type { Worker } from 'node:worker_threads';
import type { Timers } from '../../domain/ports.ts';

export interface SuperviseOptions {
  /** Whether a thread is still wanted (false once the store closes or its writer died). */
  wanted: () => boolean;
  /** Pause before each restart, and between failed starts. */
  delayMs: number;
  timers: Timers;
  /** Each thread once it started (the first one included). */
  onStarted: (worker: Worker) => void;
}

/**
 * Starts a thread and keeps one running while `wanted()`: when it exits, or a restart fails, another
 * start follows `delayMs` later. Resolves once the first thread runs; only the first start's failure
 * is the caller's.
 */
export async function supervise(start: () => Promise<Worker>, o: SuperviseOptions): Promise<void> {
  const run = async (): Promise<void> => {
    const worker = await start();
    worker.once('exit', later);
    o.onStarted(worker);
  };
  function later(): void {
    if (!o.wanted()) return;
    o.timers.setTimeout(() => {
      if (o.wanted()) run().catch(later);
    }, o.delayMs);
  }
  await run();
}
