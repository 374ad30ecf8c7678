// q= on SQLite: the FTS5 trigram index (search-file.ts) narrows the candidates, the exact
// case-insensitive substring test decides. The index needs three characters; shorter text scans, as
// does every search while the index is not attached or not complete. Groups queued after what the
// index covers are always candidates.

import { SEARCHED_COLUMNS as COLUMNS, searchNeedle } from '../listing-sql.ts';

// Enough trigrams to be selective; the exact test below catches what the AND of them lets through.
const MAX_TRIGRAMS = 12;

/** An FTS5 query that every row containing `text` matches: its distinct trigrams, each quoted, AND-ed. */
function trigramQuery(text: string): string | null {
  const chars = [...text];
  if (chars.length < 3) return null;
  const grams = new Set<string>();
  for (let i = 0; i + 3 <= chars.length && grams.size < MAX_TRIGRAMS; i++) grams.add(chars.slice(i, i + 3).join(''));
  return [...grams].map((g) => `"${g.replaceAll('"', '""')}"`).join(' AND ');
}

/**
 * The WHERE term and its parameters for q= (searchNeedle's text: instr on lower()). The exact test is
 * instr(), not LIKE: LIKE stops reading a column at a NUL, and hostile text is stored as it came.
 */
export function searchTerm(q: string, index: { through: number } | null): { sql: string; params: Array<string | number> } {
  const needle = searchNeedle(q);
  const exact = `(${COLUMNS.map((c) => `instr(lower(${c}), ?) > 0`).join(' OR ')})`;
  const params = COLUMNS.map(() => needle);
  const match = trigramQuery(needle);
  if (match === null || index === null) return { sql: exact, params };
  // Groups changed after what the index covers are candidates too; the exact test decides for them.
  const candidates = 'SELECT rowid FROM search.fts WHERE fts MATCH ? UNION ALL SELECT group_id FROM search_queue WHERE seq > ?';
  return { sql: `id IN (${candidates}) AND ${exact}`, params: [match, index.through, ...params] };
}
