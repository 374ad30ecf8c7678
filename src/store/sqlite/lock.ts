// Single-writer guard for the SQLite database (DESIGN §3: one replica only).
//
// A pid-in-a-file lock goes stale whenever the holder is killed, and "is that pid alive?" is wrong
// after a container restart (the new process is pid 1 again) or from another pod sharing the volume.
// Instead the lock is an OS file lock: SQLite's RESERVED lock on a tiny side database `<path>.lock`,
// held by an open IMMEDIATE transaction for the life of the store. The kernel drops it when the
// process dies, however it dies, so there is no stale state to detect. The holder's identity sits in a
// committed row that others can still read, which turns "database is locked" into a clear message.
import { hostname } from 'node:os';
import { DatabaseSync } from 'node:sqlite';
import { LoadError } from '../../domain/errors.ts';

export interface LockHolder {
  pid: number;
  host: string;
  since: number;
}

export interface FileLock {
  readonly path: string;
  release(): void;
}

const SQLITE_BUSY = 5;

function isBusy(err: unknown): boolean {
  return (err as { errcode?: number } | null)?.errcode === SQLITE_BUSY;
}

function holderText(holder: LockHolder | undefined): string {
  if (!holder) return 'another process';
  return `process ${holder.pid} on ${holder.host} (since ${new Date(holder.since).toISOString()})`;
}

function readHolder(db: DatabaseSync): LockHolder | undefined {
  try {
    return db.prepare('SELECT pid, host, since FROM holder WHERE id = 1').get() as LockHolder | undefined;
  } catch {
    return undefined;
  }
}

export function acquireFileLock(
  databasePath: string,
  now: () => number,
  holder: Omit<LockHolder, 'since'> = { pid: process.pid, host: hostname() },
): FileLock {
  const path = `${databasePath}.lock`;
  const fail = (message: string): LoadError => new LoadError(path, [{ path: 'store.path', message }]);
  const held = (db: DatabaseSync): LoadError => fail(
    `database ${databasePath} is in use by ${holderText(readHolder(db))}; the SQLite store serves a single ` +
    'process — stop the other one, or use store.type: postgres for several replicas',
  );

  let db: DatabaseSync;
  try {
    // timeout 0: a live holder must fail us at once rather than after a busy wait.
    db = new DatabaseSync(path, { timeout: 0 });
  } catch (err) {
    throw fail(`cannot open lock file: ${(err as Error).message}`);
  }
  try {
    db.exec('CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER, host TEXT, since INTEGER)');
    // Write our identity, then take the lock for good. Another process can slip in between; then the
    // second BEGIN fails and the row it reads names whoever won, which is the truth.
    db.exec('BEGIN IMMEDIATE');
    db.prepare('INSERT OR REPLACE INTO holder (id, pid, host, since) VALUES (1, ?, ?, ?)')
      .run(holder.pid, holder.host, now());
    db.exec('COMMIT');
    db.exec('BEGIN IMMEDIATE');
  } catch (err) {
    const error = isBusy(err) ? held(db) : fail(`cannot lock: ${(err as Error).message}`);
    db.close();
    throw error;
  }

  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      // The file stays: unlinking a lock file others may have open lets two processes "hold" it.
      db.exec('ROLLBACK');
      db.close();
    },
  };
}
