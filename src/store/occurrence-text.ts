// Occurrences "as the group" (SQLite migration V6, PostgreSQL V10): an occurrence row whose message
// and labels are its group's stores '' for both, so a new alert writes its text once, on the group
// row, instead of twice (issue #12). No label set serialises to '' (JSON text is at least '{}'), so
// labels = '' marks such a row. The invariant both stores keep: an '' row always reads as its group's
// current text. The group row takes its newest item's text, so before that text changes, the rows
// that referred to it get the old text written into them (SQLite: a trigger; PostgreSQL: a statement
// before the write, KEEP_OLD_TEXT). Readers map '' back (src/store/rows.ts).

/** The text a group row is written with: its newest item's. */
export interface GroupText {
  message: string;
  /** JSON text of the labels. */
  labels: string;
  /** The labels object `labels` was made from: an item that carries the same object needs no second stringify. */
  labelsOf: object;
}

export function groupText(message: string, labels: Readonly<Record<string, string>>): GroupText {
  return { message, labels: JSON.stringify(labels), labelsOf: labels };
}

const AS_GROUP: readonly [string, string] = ['', ''];

/** What an occurrence row stores of its text, [message, labels]: ['', ''] when it is the group's. */
export function occurrenceText(message: string, labels: Readonly<Record<string, string>>, group: GroupText): readonly [string, string] {
  const json = labels === group.labelsOf ? group.labels : JSON.stringify(labels);
  return message === group.message && json === group.labels ? AS_GROUP : [message, json];
}
