// SQLite's q= index in a file of its own (V11, issue #12): `<store.path>.search`, beside the database.
// In the database file the FTS5 index had one writer, the ingest writer, and indexing was about half
// of its work per new alert. A second file has a second write lock, so an indexer on its own thread
// and connection (thread.ts) keeps it up to date while the ingest writer commits.
//
// How the two files stay in step:
// - The database keeps a queue (search-schema.ts): every insert, text change and delete of a group
//   appends the group's id with a new seq, in the writer's own transaction.
// - The indexer reads a chunk of the queue and the groups' current text in one snapshot, writes the
//   index and `through` (the last seq it covered) in one transaction of the search file.
// - Only then may the writer trim the queue below `through`. The row at `through` stays, so seq never
//   starts over (rowids restart from the largest one left).
// - A q= read takes the database's snapshot first and the search file's second (readSearch()): a
//   group is either still queued after `through` (a candidate, the exact test decides) or indexed
//   with its current text. Stale index rows (a text since changed, a deleted group) are harmless.
// - The search file is derived data: it names the database it indexes (origin) and how far. One from
//   another database, or ahead of this one (an older backup restored), is emptied and rebuilt from
//   the groups; until then q= scans (complete = 0).
import type { DatabaseSync } from 'node:sqlite';
import { pathToFileURL } from 'node:url';
import { SEARCHED_COLUMNS as COLUMNS } from '../listing-sql.ts';
import { one, type Statements } from './statements.ts';

const cols = COLUMNS.join(', ');

/** The search file of a database file; an in-memory database gets an in-memory one. */
export function searchFilePath(path: string): string {
  return path === ':memory:' ? ':memory:' : `${path}.search`;
}

const FTS = `CREATE VIRTUAL TABLE IF NOT EXISTS search.fts USING fts5(${cols},
  content = '', contentless_delete = 1, tokenize = 'trigram', detail = 'none')`;

/**
 * Who merges the index's segments. 'as-written': FTS5 itself, as it writes (automerge, 4 segments per
 * level: its default). 'when-idle': the indexer thread, with mergeStep once nothing is queued (issue
 * #12: under a storm of new groups automerge rewrote each group's entries about three times while
 * ingest shared the cores; FTS5's crisis merge still bounds a level at 16 segments under sustained
 * load). Measured with callgrind, 60k groups in 2000-group chunks, against the idle steps' former
 * merge of everything into one segment: 13% fewer instructions (15% while writing). mergeStep now
 * merges as automerge would, only later. FTS5 keeps the setting in the file; it is set on every open,
 * so it follows whoever indexes the file now.
 */
export type Merging = 'as-written' | 'when-idle';

const AUTOMERGE: Record<Merging, number> = { 'as-written': 4, 'when-idle': 0 };

const FILE_SCHEMA = `${FTS};
CREATE TABLE IF NOT EXISTS search.indexed (
  k INTEGER PRIMARY KEY CHECK (k = 1),
  origin TEXT NOT NULL,
  through INTEGER NOT NULL,
  complete INTEGER NOT NULL
);`;

/**
 * Attaches the search file as schema `search`. A writable attachment creates it (WAL, FULL: the
 * writer trims the queue only below what the file has made durable). Otherwise it is attached
 * read-only, and only if it exists with its tables: then even the database writer's BEGIN IMMEDIATE
 * takes only a read transaction on it, and never holds up the indexer. Returns whether it is attached.
 */
export function attachSearch(db: DatabaseSync, path: string, writable: boolean): boolean {
  const file = searchFilePath(path);
  try {
    const name = writable || file === ':memory:' ? file : `${pathToFileURL(file).href}?mode=ro`;
    db.prepare('ATTACH DATABASE ? AS search').run(name);
  } catch {
    return false;
  }
  try {
    if (writable) {
      db.exec(`PRAGMA search.journal_mode = WAL; PRAGMA search.synchronous = FULL; ${FILE_SCHEMA}`);
    } else {
      db.prepare('SELECT through FROM search.indexed').get();
      // As the reader's database cache (store.ts): a search walks trigram lists of every group.
      db.exec('PRAGMA search.cache_size = -8192');
    }
    return true;
  } catch {
    db.exec('DETACH DATABASE search');
    return false;
  }
}

export type SearchFileCheck =
  | { keep: true }
  | { keep: false; reason: 'new-file' | 'other-database' | 'ahead-of-database' };

/** Pure: whether the search file's index may be kept for this database. */
export function checkSearchFile(
  file: { origin: string; through: number } | undefined,
  db: { origin: string; lastSeq: number },
): SearchFileCheck {
  if (!file) return { keep: false, reason: 'new-file' };
  if (file.origin !== db.origin) return { keep: false, reason: 'other-database' };
  if (file.through > db.lastSeq) return { keep: false, reason: 'ahead-of-database' };
  return { keep: true };
}

/** The largest seq the queue has handed out (0 for none yet): the queue always keeps its last row. */
function lastSeq(stmts: Statements): number {
  return one<{ n: number | null }>(stmts.get('SELECT max(seq) AS n FROM search_queue'))!.n ?? 0;
}

/**
 * On a connection with the search file attached writable, before any indexing: keeps the file or
 * empties it for a rebuild. Returns what was decided.
 */
export function openSearchFile(stmts: Statements, merging: Merging): SearchFileCheck {
  return stmts.deferred(() => {
    const origin = one<{ origin: string }>(stmts.get('SELECT origin FROM search_origin'))!.origin;
    const file = one<{ origin: string; through: number }>(stmts.get('SELECT origin, through FROM search.indexed'));
    const check = checkSearchFile(file, { origin, lastSeq: lastSeq(stmts) });
    if (!check.keep) {
      stmts.db.exec(`DROP TABLE IF EXISTS search.fts; ${FTS}`);
      stmts.get('INSERT OR REPLACE INTO search.indexed (k, origin, through, complete) VALUES (1, ?, 0, 0)').run(origin);
    }
    // A literal (our own integer): FTS5 rejects the setting's value as a bound parameter.
    stmts.get(`INSERT INTO search.fts (fts, rank) VALUES ('automerge', ${AUTOMERGE[merging]})`).run();
    return check;
  });
}

/**
 * One step of the indexer, in one transaction of its connection: the whole table while the file is
 * not complete (a rebuild), else up to `limit` queued changes. Returns the groups it looked at and the
 * seq the file now covers. With `trim`, the same transaction also trims the queue (a connection that
 * is the database's writer; the indexer thread never writes the database).
 */
export function indexChunk(stmts: Statements, limit: number, trim: boolean): { n: number; through: number } {
  return stmts.deferred(() => {
    const state = one<{ through: number; complete: number }>(stmts.get('SELECT through, complete FROM search.indexed'))!;
    let n: number;
    let through: number;
    if (!state.complete) {
      through = lastSeq(stmts);
      n = Number(stmts.get(`INSERT INTO search.fts (rowid, ${cols}) SELECT id, ${cols} FROM error_groups`).run().changes);
    } else {
      const chunk = one<{ last: number | null; n: number }>(stmts.get(
        'SELECT max(seq) AS last, count(*) AS n FROM (SELECT seq FROM search_queue WHERE seq > ? ORDER BY seq LIMIT ?)'), state.through, limit)!;
      if (chunk.last === null) return { n: 0, through: state.through };
      const range = 'SELECT group_id FROM search_queue WHERE seq > ? AND seq <= ?';
      stmts.get(`INSERT OR REPLACE INTO search.fts (rowid, ${cols}) SELECT id, ${cols} FROM error_groups WHERE id IN (${range})`)
        .run(state.through, chunk.last);
      stmts.get(`DELETE FROM search.fts WHERE rowid IN (${range} AND group_id NOT IN (SELECT id FROM error_groups))`)
        .run(state.through, chunk.last);
      n = chunk.n;
      through = chunk.last;
    }
    stmts.get('UPDATE search.indexed SET through = ?, complete = 1').run(through);
    if (trim) trimQueue(stmts, through);
    return { n, through };
  });
}

/**
 * One bounded step of merging the index's segments level by level, as FTS5's automerge would have as
 * it wrote: the segments of a level holding `usermerge` (FTS5's default, 4) or more become one segment
 * of the next level (and a level whose deleted entries reach FTS5's `deletemerge` share is rewritten
 * without them). A group's entries are rewritten about once per level (log4 of the segments written),
 * and once the steps find no work a search reads at most three segments per level. Returns whether
 * there was work.
 *
 * Not a merge of every level into one segment ('merge' with a negative count): that rewrote the
 * whole index whenever anything had been indexed since, for one new group as for thousands. At 100k
 * groups (an index of about 19 MB) one new group a second kept the indexer thread about 40% busy and
 * wrote 38 MiB a second (the index again, to the WAL and then the file).
 */
export function mergeStep(stmts: Statements, pages: number): boolean {
  const changes = (): number => one<{ n: number }>(stmts.get('SELECT total_changes() AS n'))!.n;
  const before = changes();
  stmts.get("INSERT INTO search.fts (fts, rank) VALUES ('merge', ?)").run(pages);
  // FTS5's documented test: the command changed fewer than two rows when it found nothing to merge.
  return changes() - before >= 2;
}

/** The writer: drops queued changes the search file has covered durably (keeping the row at `through`). */
export function trimQueue(stmts: Statements, through: number): void {
  stmts.get('DELETE FROM search_queue WHERE seq < ?').run(through);
}

/**
 * A q= read: opens the database's snapshot before the search file's (see the top of this file), then
 * tells fn whether the index may be used and from which seq the queue still holds candidates.
 */
export function readSearch<T>(stmts: Statements, attached: boolean, fn: (index: { through: number } | null) => T): T {
  if (!attached) return fn(null);
  return stmts.deferred(() => {
    stmts.get('SELECT 1 FROM search_queue LIMIT 1').get();
    const state = one<{ through: number; complete: number }>(stmts.get('SELECT through, complete FROM search.indexed'));
    return fn(state?.complete ? { through: state.through } : null);
  });
}
