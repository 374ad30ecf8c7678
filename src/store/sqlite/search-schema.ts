// SQLite: an FTS5 trigram index for the listing's q= text search (issue #12: p99 ≤ 20 ms at 100k
// groups; a scan of instr(lower(…)) over every group took hundreds of ms). External content: the
// index holds no copy of the text, only trigrams. detail=none keeps it small and cheap to write;
// it cannot check trigram positions, so it only narrows candidates and the exact instr() test stays
// (src/store/sqlite/search.ts). Re-sends rewrite the group row with the same text: the update trigger
// re-indexes only when a searched column really changed.
const COLUMNS = ['title', 'message', 'pod', 'workload', 'namespace'] as const;
const cols = COLUMNS.join(', ');
const of = (row: 'new' | 'old'): string => COLUMNS.map((c) => `${row}.${c}`).join(', ');

export const SEARCH_SCHEMA = `
CREATE VIRTUAL TABLE error_groups_search USING fts5(${cols},
  content = 'error_groups', content_rowid = 'id', tokenize = 'trigram', detail = 'none');
CREATE TRIGGER error_groups_search_insert AFTER INSERT ON error_groups BEGIN
  INSERT INTO error_groups_search (rowid, ${cols}) VALUES (new.id, ${of('new')});
END;
CREATE TRIGGER error_groups_search_delete AFTER DELETE ON error_groups BEGIN
  INSERT INTO error_groups_search (error_groups_search, rowid, ${cols}) VALUES ('delete', old.id, ${of('old')});
END;
CREATE TRIGGER error_groups_search_update AFTER UPDATE OF ${cols} ON error_groups
  WHEN ${COLUMNS.map((c) => `old.${c} IS NOT new.${c}`).join(' OR ')} BEGIN
  INSERT INTO error_groups_search (error_groups_search, rowid, ${cols}) VALUES ('delete', old.id, ${of('old')});
  INSERT INTO error_groups_search (rowid, ${cols}) VALUES (new.id, ${of('new')});
END;
INSERT INTO error_groups_search (error_groups_search) VALUES ('rebuild');
`;
