// SQLite: an FTS5 trigram index for the listing's q= text search (issue #12: p99 ≤ 20 ms at 100k
// groups; a scan of instr(lower(…)) over every group took hundreds of ms). External content: the
// index holds no copy of the text, only trigrams. detail=none keeps it small and cheap to write;
// it cannot check trigram positions, so it only narrows candidates and the exact instr() test stays
// (src/store/sqlite/search.ts). Re-sends rewrite the group row with the same text: the update trigger
// re-indexes only when a searched column really changed.
import { SEARCHED_COLUMNS as COLUMNS } from '../listing-sql.ts';

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

// V7: new groups are indexed after their commit, not in it (issue #12: the trigram index was a third
// of the store thread's time per new alert, most of it at COMMIT). A new group's id goes to
// search_pending in the ingest transaction; the indexer (search-indexer.ts) moves pending groups into
// the index in larger chunks, when the writer is idle or the backlog grows. q= reads the pending
// groups too (search.ts), so an answer never misses a group. A pending group was never indexed: its
// delete must not send FTS5 a 'delete' (that would corrupt the index), and a change to its text
// needs no re-index (the indexer reads the text it finds). Keyed by group id, not by a high-water
// mark: rowids of deleted groups can be reused.
export const SEARCH_DEFERRED_SCHEMA = `
CREATE TABLE search_pending (group_id INTEGER PRIMARY KEY);
DROP TRIGGER error_groups_search_insert;
DROP TRIGGER error_groups_search_delete;
DROP TRIGGER error_groups_search_update;
CREATE TRIGGER error_groups_search_pending AFTER INSERT ON error_groups BEGIN
  INSERT INTO search_pending (group_id) VALUES (new.id);
END;
CREATE TRIGGER error_groups_search_delete AFTER DELETE ON error_groups BEGIN
  INSERT INTO error_groups_search (error_groups_search, rowid, ${cols}) SELECT 'delete', old.id, ${of('old')}
    WHERE NOT EXISTS (SELECT 1 FROM search_pending WHERE group_id = old.id);
  DELETE FROM search_pending WHERE group_id = old.id;
END;
CREATE TRIGGER error_groups_search_update AFTER UPDATE OF ${cols} ON error_groups
  WHEN (${COLUMNS.map((c) => `old.${c} IS NOT new.${c}`).join(' OR ')})
    AND NOT EXISTS (SELECT 1 FROM search_pending WHERE group_id = old.id) BEGIN
  INSERT INTO error_groups_search (error_groups_search, rowid, ${cols}) VALUES ('delete', old.id, ${of('old')});
  INSERT INTO error_groups_search (rowid, ${cols}) VALUES (new.id, ${of('new')});
END;
`;

// V11: the index moves to a file of its own with its own writer (search-file.ts). The database keeps
// only the queue of changes the index has yet to see and the origin that ties the file to this
// database; the first indexer run after the upgrade builds the file from the groups.
export const SEARCH_QUEUE_SCHEMA = `
DROP TRIGGER error_groups_search_pending;
DROP TRIGGER error_groups_search_delete;
DROP TRIGGER error_groups_search_update;
DROP TABLE search_pending;
DROP TABLE error_groups_search;
CREATE TABLE search_origin (k INTEGER PRIMARY KEY CHECK (k = 1), origin TEXT NOT NULL);
INSERT INTO search_origin (k, origin) VALUES (1, lower(hex(randomblob(16))));
CREATE TABLE search_queue (seq INTEGER PRIMARY KEY, group_id INTEGER NOT NULL);
CREATE TRIGGER error_groups_search_insert AFTER INSERT ON error_groups BEGIN
  INSERT INTO search_queue (group_id) VALUES (new.id);
END;
CREATE TRIGGER error_groups_search_update AFTER UPDATE OF ${cols} ON error_groups
  WHEN ${COLUMNS.map((c) => `old.${c} IS NOT new.${c}`).join(' OR ')} BEGIN
  INSERT INTO search_queue (group_id) VALUES (new.id);
END;
CREATE TRIGGER error_groups_search_delete AFTER DELETE ON error_groups BEGIN
  INSERT INTO search_queue (group_id) VALUES (old.id);
END;
`;
