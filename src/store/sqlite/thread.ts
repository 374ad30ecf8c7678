// Worker-thread side of ThreadedSqliteStore: owns the SqliteStore (and its lock) and answers calls.
import { parentPort, workerData } from 'node:worker_threads';
import { AppError, LoadError } from '../../domain/errors.ts';
import { SqliteStore, type SqliteStoreOptions } from './store.ts';

export interface WireError {
  kind: 'AppError' | 'LoadError' | 'Error';
  message: string;
  code?: string;
  file?: string;
  details?: Array<{ path: string; message: string }>;
}

export function toWireError(err: unknown): WireError {
  if (err instanceof AppError) return { kind: 'AppError', code: err.code, message: err.message, details: err.details };
  if (err instanceof LoadError) return { kind: 'LoadError', file: err.file, message: err.message, details: err.details };
  return { kind: 'Error', message: err instanceof Error ? err.message : String(err) };
}

function main(): void {
  const port = parentPort;
  if (!port) return;
  let store: SqliteStore;
  try {
    store = new SqliteStore(workerData as SqliteStoreOptions);
  } catch (err) {
    port.postMessage({ ready: false, error: toWireError(err) });
    return;
  }
  port.postMessage({ ready: true });
  port.on('message', (msg: { id: number; method: string; args: unknown[] }) => {
    const fn = (store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[msg.method];
    Promise.resolve()
      .then(() => fn.apply(store, msg.args))
      .then((result) => port.postMessage({ id: msg.id, result }), (err) => port.postMessage({ id: msg.id, error: toWireError(err) }));
  });
}

main();
