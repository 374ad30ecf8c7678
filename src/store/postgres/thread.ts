// Worker-thread side of ThreadedPostgresStore: owns the PostgresStore (its pool and its LISTEN
// connection) and answers calls. Besides the answers it posts `{ change }` for every other process's
// commit once the caller subscribed, and `{ log }` for the store's warnings (the logger is the caller's).
import { parentPort, workerData } from 'node:worker_threads';
import { PostgresStore, type PostgresStoreOptions } from './store.ts';
import type { StoreLogger } from './session.ts';
import { type PackedChunk, unpack } from '../wire.ts';
import { serveCalls, toWireError } from '../threads.ts';
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
  let store: PostgresStore;
  try {
    store = new PostgresStore({ ...(workerData as PostgresStoreOptions), logger });
  } catch (err) {
    port.postMessage({ ready: false, error: toWireError(err) });
    return;
  }
  port.postMessage({ ready: true });
  let subscribed = false;
  serveCalls(port, store, {
    recordPacked: (chunks) => store.record(unpack(chunks as PackedChunk[])),
    // One subscription for the thread; the caller fans the changes out to its own subscribers.
    subscribe: () => {
      if (!subscribed) store.subscribe((change) => post({ change }));
      subscribed = true;
    },
    listening: () => store.listening,
  });
}

main();
