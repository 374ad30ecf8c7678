// Prepared-statement cache and transaction helper shared by the SQLite store's parts.
import type { DatabaseSync, StatementSync } from 'node:sqlite';

// Filter combinations of listGroups/listHistory build a bounded but sizeable set of SQL texts.
const DEFAULT_CAPACITY = 256;

/** Statements prepared once per store instance (per connection), keyed by their SQL text. */
export class Statements {
  readonly db: DatabaseSync;
  readonly #cache = new Map<string, StatementSync>();
  readonly #capacity: number;

  constructor(opts: { db: DatabaseSync; capacity?: number }) {
    this.db = opts.db;
    this.#capacity = opts.capacity ?? DEFAULT_CAPACITY;
  }

  get(sql: string): StatementSync {
    let stmt = this.#cache.get(sql);
    if (stmt) {
      // Re-insert to keep Map order = least recently used first.
      this.#cache.delete(sql);
    } else {
      stmt = this.db.prepare(sql);
      if (this.#cache.size >= this.#capacity) {
        const oldest = this.#cache.keys().next().value;
        if (oldest !== undefined) this.#cache.delete(oldest);
      }
    }
    this.#cache.set(sql, stmt);
    return stmt;
  }

  /**
   * Runs fn in a write transaction. IMMEDIATE takes the write lock up front, so a reader's snapshot
   * never has to be upgraded mid-way (which is where SQLITE_BUSY deadlocks come from).
   */
  transaction<T>(fn: () => T): T {
    return this.#within('BEGIN IMMEDIATE', fn);
  }

  /**
   * Runs fn in a DEFERRED transaction, or inside the one already open. Each attached file is locked
   * only when used, and only a file written is write-locked (BEGIN IMMEDIATE write-locks every
   * writable attached file: search-file.ts).
   */
  deferred<T>(fn: () => T): T {
    return this.db.isTransaction ? fn() : this.#within('BEGIN', fn);
  }

  #within<T>(begin: string, fn: () => T): T {
    this.db.exec(begin);
    try {
      const result = fn();
      this.db.exec('COMMIT');
      return result;
    } catch (err) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw err;
    }
  }
}

/** Rows come back as null-prototype objects of SQLite values; callers name the shape they selected. */
export function one<T>(stmt: StatementSync, ...params: Array<string | number | null>): T | undefined {
  return stmt.get(...params) as T | undefined;
}

export function all<T>(stmt: StatementSync, ...params: Array<string | number | null>): T[] {
  return stmt.all(...params) as T[];
}
