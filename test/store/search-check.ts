// Looks into SQLite's search file directly (src/store/sqlite/search-file.ts), for the search tests.
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';

/** The index's rows are the groups' ids, and FTS5 finds its own structure sound (after a flush). */
export function inStep(path: string): void {
  const c = new DatabaseSync(path);
  try {
    c.prepare('ATTACH DATABASE ? AS search').run(`${path}.search`);
    c.exec("INSERT INTO search.fts (fts) VALUES ('integrity-check')");
    const ids = (sql: string) => (c.prepare(sql).all() as Array<{ id: number }>).map((r) => r.id);
    assert.deepEqual(ids('SELECT rowid AS id FROM search.fts ORDER BY rowid'), ids('SELECT id FROM error_groups ORDER BY id'));
  } finally { c.close(); }
}

/** Rows the index itself holds for a text (its trigrams AND-ed), whatever the exact test would say. */
export function indexed(path: string, text: string): number[] {
  const c = new DatabaseSync(path, { readOnly: true });
  try {
    c.prepare('ATTACH DATABASE ? AS search').run(`${path}.search`);
    const grams = Array.from({ length: text.length - 2 }, (_, i) => `"${text.slice(i, i + 3)}"`).join(' AND ');
    return (c.prepare('SELECT rowid AS id FROM search.fts WHERE fts MATCH ? ORDER BY rowid').all(grams) as Array<{ id: number }>).map((r) => r.id);
  } finally { c.close(); }
}

/** Rows in the database's search queue, trimmed or not (it keeps the row at `through`). */
export function queueRows(path: string): number {
  const c = new DatabaseSync(path, { readOnly: true });
  try { return (c.prepare('SELECT count(*) AS n FROM search_queue').get() as { n: number }).n; } finally { c.close(); }
}
