// The writer's fingerprint → group id directory (migration V10, fingerprint-schema.ts): error_groups has
// no index on fingerprint, so the write path finds a batch's groups here and reads their rows by id.
//
// Invariant: every group in the table is in the directory. It is loaded from the table on first use,
// and groups created in a transaction join it once that transaction committed (a rollback takes their
// rows with it). An entry may outlive its row (retention deletes groups; the rowid of a deleted group
// can be reused), so an entry is only a hint: the write path keeps a row only when its fingerprint is
// the one it looked for, and treats everything else as a new group.
import type { Statements } from './statements.ts';

// Reads two columns of every group: ~50 ms per 100k groups (the rows are ~1.5 KB), once per process
// and after a failed write.
const LOAD = 'SELECT fingerprint, id FROM error_groups';

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

  /** After a failed write: reload from the table rather than reason about what the failure left. */
  rolledBack(): void {
    this.#fresh.clear();
    this.#ids = null;
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
