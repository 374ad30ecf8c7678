// The writer's fingerprint → group id directory (migration V10, fingerprint-schema.ts): error_groups has
// no index on fingerprint, so the write path finds a batch's groups here and reads their rows by id.
//
// Invariant: every group in the table is in the directory. It is loaded from the table when the store
// opens, and groups created in a transaction join it once that transaction committed. An entry may
// outlive its row (retention deletes groups; the rowid of a deleted group can be reused), so an entry
// is only a hint: the write path keeps a row only when its fingerprint is the one it looked for, and
// treats everything else as a new group.
import { all, type Statements } from './statements.ts';

// Reads two columns of every group, so every row's page: 0.5–1 s per 100k groups (the rows are
// about 1 KB with the bench's alerts). Once per process; again only if a failed write could not be
// checked (rolledBack()).
const LOAD = 'SELECT fingerprint, id FROM error_groups';

// The rows a failed write had created that are there after all.
const PRESENT = 'SELECT id, fingerprint FROM error_groups WHERE id IN (SELECT value FROM json_each(?))';

export class GroupDirectory {
  #ids: Map<string, number> | null = null;
  readonly #fresh = new Map<string, number>();

  /** At startup, so the first write after it does not wait for the table read. */
  load(stmts: Statements): void {
    this.#load(stmts);
  }

  /** The ids the directory names for these fingerprints; unknown fingerprints are left out. */
  idsOf(stmts: Statements, fingerprints: Iterable<string>): number[] {
    const ids = this.#load(stmts);
    const out: number[] = [];
    for (const fp of fingerprints) {
      const id = ids.get(fp);
      if (id !== undefined) out.push(id);
    }
    return out;
  }

  /** A group row written in the current transaction. */
  learn(fingerprint: string, id: number): void {
    this.#fresh.set(fingerprint, id);
  }

  committed(): void {
    if (this.#ids) for (const [fp, id] of this.#fresh) this.#ids.set(fp, id);
    this.#fresh.clear();
  }

  /**
   * After a failed write. A rollback takes the rows it had created with it; should a failed COMMIT
   * have kept any, they are looked up by id and kept. If even that fails, the next write reloads.
   */
  rolledBack(stmts: Statements): void {
    try {
      if (this.#ids && this.#fresh.size > 0) {
        const rows = all<{ id: number; fingerprint: string }>(stmts.get(PRESENT), JSON.stringify([...this.#fresh.values()]));
        for (const r of rows) if (this.#fresh.get(r.fingerprint) === r.id) this.#ids.set(r.fingerprint, r.id);
      }
    } catch {
      this.#ids = null;
    }
    this.#fresh.clear();
  }

  /** After retention deleted these groups. */
  forget(fingerprints: Iterable<string>): void {
    if (this.#ids) for (const fp of fingerprints) this.#ids.delete(fp);
  }

  #load(stmts: Statements): Map<string, number> {
    if (this.#ids) return this.#ids;
    const ids = new Map<string, number>();
    for (const row of stmts.get(LOAD).iterate() as Iterable<{ fingerprint: string; id: number }>) ids.set(row.fingerprint, row.id);
    this.#ids = ids;
    return ids;
  }
}
