// SQLite V6: fewer bytes per new alert (issue #12). The write path is bound by the bytes each commit
// writes to the WAL (and the checkpointer copies again), and two things were stored over and over:
//
// - The classification's `why` (≈ 0.3–0.7 KB of JSON per group) takes few distinct values: it depends
//   on the rule set and which rules a signal failed, not on the signal's text. Groups now store a
//   reference `#<id>` into classification_reasons; rows written before V6 keep their JSON inline, and
//   readers accept both (src/store/sqlite/reasons.ts).
// - An occurrence row repeated its signal's message and labels, which are almost always the group's
//   own (the first occurrence always is). An occurrence whose message and labels equal the group's
//   now stores labels = '' and message = '' ("as the group"): no label set serialises to '' (JSON
//   text is at least '{}'). The group row is rewritten with the newest item's text, so before its
//   message or labels change the trigger below writes the old text into the rows that referred to it;
//   the invariant is that an "as the group" row always equals the group's current text.
export const COMPACT_SCHEMA = `
CREATE TABLE classification_reasons (
  id INTEGER PRIMARY KEY,
  why TEXT NOT NULL UNIQUE
);
CREATE TRIGGER error_groups_occurrence_text AFTER UPDATE OF message, labels ON error_groups
  WHEN old.message IS NOT new.message OR old.labels IS NOT new.labels BEGIN
  UPDATE occurrences SET message = old.message, labels = old.labels WHERE group_id = old.id AND labels = '';
END;
`;
