// Worker-thread side of ThreadedPostgresStore: owns the PostgresStore (its pool and its LISTEN
// connection) and answers calls. Besides the answers it posts `{ change }` for every other process's
// commit once the caller subscribed, and `{ log }` for the store's warnings (the logger is the caller's).
import { parentPort, workerData } from 'node:worker_threads';
import { PostgresStore, type PostgresStoreOptions } from './store.ts';
import type { StoreLogger } from './session.ts';
import { serveStore } from '../threads.ts';
import type { StoreChange } from '../types.ts';

type LogLevel = 'info' | 'warn';

/** What the thread posts besides answers. */
export type ThreadEvent = { change: StoreChange } | { log: LogLevel; obj: Record<string, unknown>; msg: string };

function main(): void {
  const port = parentPort;
  if (!port) return;
  const post = (event: ThreadEvent) => port.postMessage(event);
  const logAt = (level: LogLevel) => (obj: Record<string, unknown>, msg: string) => post({ log: level, obj, msg });
  const logger = { info: logAt('info'), warn: logAt('warn') } as unknown as StoreLogger;
  serveStore(port, () => new PostgresStore({ ...(workerData as PostgresStoreOptions), logger }), (store) => ({
    // Called once, by the caller's first subscriber; the caller fans the changes out to all of its own.
    subscribe: () => { store.subscribe((change) => post({ change })); },
    listening: () => store.listening,
  }));
}

main();
