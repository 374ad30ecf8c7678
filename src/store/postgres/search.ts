// q= on PostgreSQL: LIKE on the search text table (search-table-schema.ts), which the pg_trgm index
// answers, and whose recheck is the exact case-insensitive substring test. Text holding the column
// separator takes the exact per-column strpos() path (it would otherwise match across columns).
import { SEARCH_SEPARATOR } from './search-schema.ts';
import { SEARCHED_COLUMNS as COLUMNS, searchNeedle } from '../listing-sql.ts';

/** LIKE's own characters escaped (backslash is PostgreSQL's default LIKE escape). */
function likeContaining(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** `param` binds a value and returns its placeholder ($n). */
export function searchTerm(q: string, param: (v: unknown) => string): string {
  const needle = searchNeedle(q);
  if (needle.includes(SEARCH_SEPARATOR)) {
    const p = param(needle);
    return `(${COLUMNS.map((c) => `strpos(lower(${c}), ${p}) > 0`).join(' OR ')})`;
  }
  return `id IN (SELECT group_id FROM error_group_search WHERE text LIKE ${param(likeContaining(needle))})`;
}
