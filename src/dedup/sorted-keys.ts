// Label names in order, for the fingerprints computed per alert on the ingest path (issue #12).
// Array.prototype.sort allocates its merge state (about 700 bytes) on every call, which for the
// handful of labels an alert carries was 15% of the main thread's allocation per alert; an insertion
// sort of that handful allocates nothing beyond the keys.

/** Past this many keys, Array.prototype.sort. */
const INSERTION_MAX = 24;

/** Object.keys(record) in the default sort order (UTF-16 code units), as `.sort()` gives. */
export function sortedKeys(record: Readonly<Record<string, unknown>>): string[] {
  const keys = Object.keys(record);
  if (keys.length > INSERTION_MAX) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i];
    let j = i - 1;
    while (j >= 0 && keys[j] > key) {
      keys[j + 1] = keys[j];
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}
