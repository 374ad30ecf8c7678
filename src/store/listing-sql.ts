// SQL fragments both store adapters build listings from, so the two engines order and search alike.
import type { SortKey } from './types.ts';

/** The columns q= searches, in the order both engines' search indexes and exact tests use them. */
export const SEARCHED_COLUMNS = ['title', 'message', 'pod', 'workload', 'namespace'] as const;

/**
 * The text q= looks for, on both stores: lowercased, NULs dropped (PostgreSQL text cannot hold one, and
 * inside an FTS5 query string one ended the string early and failed the whole search with 503).
 */
export function searchNeedle(q: string): string {
  return q.toLowerCase().replaceAll('\u0000', '');
}

/**
 * The ORDER BY of a listing. Ties always end on id, so pages never overlap or skip rows. Only these
 * fixed strings reach the SQL, whatever `sort` and `order` hold.
 */
export function orderBy(sort: SortKey | undefined, order: 'asc' | 'desc' | undefined): string {
  const dir = order === 'asc' ? 'ASC' : order === 'desc' ? 'DESC' : undefined;
  switch (sort) {
    case 'lastSeen': return `last_seen ${dir ?? 'DESC'}, id ${dir ?? 'DESC'}`;
    case 'firstSeen': return `first_seen ${dir ?? 'DESC'}, id ${dir ?? 'DESC'}`;
    case 'count': return `count ${dir ?? 'DESC'}, last_seen DESC, id DESC`;
    default: return `priority ${dir ?? 'ASC'}, last_seen DESC, id DESC`;
  }
}
