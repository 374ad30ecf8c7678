// SQLite V10: error_groups loses its fingerprint index (issue #12). The fingerprint is a hash, so each
// new group's entry landed on a random leaf of that index: at 100k groups a 500-alert commit dirtied
// ~490 of its pages, 63% of the WAL frames the commit wrote (bench/wal.ts), and the store thread paid
// for them again at checkpoint. Only the writer ever looks a group up by fingerprint; it now keeps
// its own fingerprint → id directory in memory (group-directory.ts) and reaches rows by id, so new
// groups append. PostgreSQL keeps its unique index (several replicas write at once there).
//
// SQLite cannot drop a column constraint, so the table is rebuilt by its documented procedure: create
// the new table, copy, drop the old, rename, and recreate its indexes and triggers. They are read back
// from sqlite_schema rather than restated, so the rebuild keeps exactly what the earlier migrations
// made. Runs inside migrate()'s transaction with foreign keys off (the children keep pointing at
// `error_groups` by name; ids are copied unchanged, and so is the search index's rowid mapping).
import type { DatabaseSync } from 'node:sqlite';

const UNIQUE_COLUMN = /\bfingerprint TEXT NOT NULL UNIQUE\b/;

export function DROP_FINGERPRINT_INDEX(db: DatabaseSync): void {
  const table = db.prepare("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'error_groups'").get() as { sql: string };
  if (!UNIQUE_COLUMN.test(table.sql)) throw new Error('error_groups: unexpected definition of the fingerprint column');
  const dependents = (db.prepare(`SELECT sql FROM sqlite_schema WHERE tbl_name = 'error_groups'
    AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, name`).all() as Array<{ sql: string }>).map((r) => r.sql);
  db.exec(table.sql
    .replace(/^CREATE TABLE error_groups\b/, 'CREATE TABLE error_groups_v10')
    .replace(UNIQUE_COLUMN, 'fingerprint TEXT NOT NULL'));
  db.exec('INSERT INTO error_groups_v10 SELECT * FROM error_groups');
  db.exec('DROP TABLE error_groups');
  db.exec('ALTER TABLE error_groups_v10 RENAME TO error_groups');
  for (const sql of dependents) db.exec(sql);
}
