// PostgreSQL V5: the q= search text moves out of error_groups into its own table (issue #12).
// V4 indexed an expression over error_groups with pg_trgm, and measured ingest fell by more than half:
// every upsert sets last_seen (indexed), so PostgreSQL 15 writes every row version into every index,
// and a re-sent alert re-inserted some thousand trigrams of unchanged text. Here a trigger writes the
// search text only when a group is new or one of its searched columns really changed, so re-sends
// never touch it; new groups still pay their trigrams once. The text is the same expression as V4
// (columns joined by U+0001, lowercased), so LIKE's recheck stays the exact substring test. Without
// pg_trgm the table is kept without the index and q= scans it (narrower than error_groups).
import { SEARCH_TEXT } from './search-schema.ts';
import { SEARCHED_COLUMNS } from '../listing-sql.ts';

const of = (row: 'NEW' | 'OLD'): string => SEARCH_TEXT.replace(new RegExp(`\\b(${SEARCHED_COLUMNS.join('|')})\\b`, 'g'), `${row}.$1`);

export const SEARCH_TABLE_SCHEMA = `
DROP INDEX IF EXISTS error_groups_search;
CREATE TABLE error_group_search (
  group_id bigint PRIMARY KEY REFERENCES error_groups (id) ON DELETE CASCADE,
  text text NOT NULL
);
CREATE FUNCTION error_group_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO error_group_search (group_id, text) VALUES (NEW.id, ${of('NEW')})
    ON CONFLICT (group_id) DO UPDATE SET text = excluded.text;
  RETURN NULL;
END $$;
CREATE TRIGGER error_group_search_insert AFTER INSERT ON error_groups
  FOR EACH ROW EXECUTE FUNCTION error_group_search_sync();
CREATE TRIGGER error_group_search_update AFTER UPDATE OF ${SEARCHED_COLUMNS.join(', ')} ON error_groups
  FOR EACH ROW WHEN (${SEARCHED_COLUMNS.map((c) => `OLD.${c} IS DISTINCT FROM NEW.${c}`).join(' OR ')})
  EXECUTE FUNCTION error_group_search_sync();
INSERT INTO error_group_search (group_id, text) SELECT id, ${SEARCH_TEXT} FROM error_groups;
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
    EXECUTE 'CREATE INDEX error_group_search_trgm ON error_group_search USING gin (text gin_trgm_ops)';
  END IF;
END $$;
`;

// PostgreSQL V11: new groups get their search text from one statement per batch instead of one per row
// (issue #12). auto_explain on `node bench/pg-record.ts` showed the row trigger as the largest part of
// the write statement with new alerts, each row running its own INSERT through plpgsql: about 35–40%
// of its time at 20, 64 and 500 per batch (per-node timing, which weighs on what runs per row). A
// statement trigger reads the batch's new rows from the transition table, which the totals trigger
// (V8) already has PostgreSQL collect for the same statement. The update trigger stays per row:
// PostgreSQL allows no transition table on a trigger with a column list, and it fires only when a
// searched column really changed.
export const SEARCH_BATCH_SCHEMA = `
DROP TRIGGER error_group_search_insert ON error_groups;
CREATE FUNCTION error_group_search_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO error_group_search (group_id, text) SELECT id, ${SEARCH_TEXT} FROM added
    ON CONFLICT (group_id) DO UPDATE SET text = excluded.text;
  RETURN NULL;
END $$;
CREATE TRIGGER error_group_search_insert AFTER INSERT ON error_groups
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION error_group_search_add();
`;
