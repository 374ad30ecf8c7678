// Multi-row statements for the write path. Measured with node:sqlite on this schema, a 500-row batch
// of group upserts runs ~127k rows/s as multi-row VALUES versus ~88k/s as one prepared statement per
// row and ~62k/s through json_each(): each statement call crosses into native code and binds on its
// own, so fewer, wider calls win.
import type { SQLInputValue } from 'node:sqlite';
import type { Statements } from './statements.ts';

// Fixed chunk sizes keep the number of distinct SQL texts (cached statements) small for any batch
// size; 256 rows × ~20 columns stays well under SQLite's 32766 bound variables.
const CHUNKS = [256, 64, 16, 4, 1] as const;

/** SQL texts per statement builder and chunk size: a 256-row text is about 17 KB, built once. */
const texts = new WeakMap<(values: string) => string, Map<number, string>>();

function textOf(sql: (values: string) => string, size: number, width: number): string {
  let bySize = texts.get(sql);
  if (!bySize) texts.set(sql, bySize = new Map());
  let text = bySize.get(size);
  if (text === undefined) {
    const tuple = `(${new Array(width).fill('?').join(', ')})`;
    bySize.set(size, text = sql(new Array(size).fill(tuple).join(', ')));
  }
  return text;
}

/**
 * Runs `sql(values)` over rows in chunks, where values is `(?, …), (?, …)…` for the chunk, and
 * returns every RETURNING row. Row order within a chunk's RETURNING output is unspecified in SQLite,
 * so callers must return a key to match rows by. Every row of one `sql` has the same width. The
 * parameters of a chunk go into an array of their final size (pushing them grew it by copying, about
 * 1.3 KB of garbage per alert on the store thread, issue #12).
 */
export function bulk<T>(stmts: Statements, sql: (values: string) => string, rows: SQLInputValue[][]): T[] {
  if (rows.length === 0) return [];
  const width = rows[0].length;
  const out: T[] = [];
  let i = 0;
  for (const size of CHUNKS) {
    if (rows.length - i < size) continue;
    const stmt = stmts.get(textOf(sql, size, width));
    for (; rows.length - i >= size; i += size) {
      const params = new Array<SQLInputValue>(size * width);
      let p = 0;
      for (let r = i; r < i + size; r++) {
        const row = rows[r];
        for (let c = 0; c < width; c++) params[p++] = row[c];
      }
      for (const row of stmt.all(...params)) out.push(row as T);
    }
  }
  return out;
}
