// SQLite: dedup memory keyed by (group_id, key) instead of (fingerprint, key) (issue #12).
// The fingerprint is a hash, so every new group's key landed on a random leaf of the primary key:
// a 500-item commit dirtied a page per item there (measured with WAL frames per commit: about 3 KiB
// per new alert at 50k groups, and growing with the table). New groups get increasing ids, so their
// keys now append; the separate group_id index (cascade deletes) is no longer needed either, since the
// primary key starts with group_id. A fingerprint identifies one group row, so the two keyings hold
// the same entries. Rebuilt with SQLite's create, copy, drop, rename procedure; nothing references it.
export const KEYS_BY_GROUP_SCHEMA = `
CREATE TABLE occurrence_keys_v4 (
  group_id INTEGER NOT NULL REFERENCES error_groups (id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  seen_count INTEGER NOT NULL,
  state TEXT NOT NULL,
  last_seen INTEGER NOT NULL,
  PRIMARY KEY (group_id, key)
) WITHOUT ROWID;
INSERT INTO occurrence_keys_v4 (group_id, key, seen_count, state, last_seen)
  SELECT group_id, key, seen_count, state, last_seen FROM occurrence_keys;
DROP TABLE occurrence_keys;
ALTER TABLE occurrence_keys_v4 RENAME TO occurrence_keys;
CREATE INDEX occurrence_keys_last_seen ON occurrence_keys (last_seen);
`;
