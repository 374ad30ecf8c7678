// Classification reasons stored once (migration V6, compact-schema.ts): error_groups.why holds `#<id>`
// of a classification_reasons row, or (rows from before V6) the JSON itself.
import type { Statements } from './statements.ts';
import { one } from './statements.ts';

// Distinct reasons are few (one per rule chain a signal can fail through); the bound only guards
// against a rule set that produces many.
const MAX_CACHED = 4096;

const INSERT = 'INSERT INTO classification_reasons (why) VALUES (?) ON CONFLICT (why) DO NOTHING';
const SELECT = 'SELECT id FROM classification_reasons WHERE why = ?';
const BY_ID = 'SELECT why FROM classification_reasons WHERE id = ?';

// Retention: reasons no group refers to any more. References are '#' followed by the id.
export const PRUNE_REASONS = `DELETE FROM classification_reasons WHERE id NOT IN
  (SELECT CAST(substr(why, 2) AS INTEGER) FROM error_groups WHERE substr(why, 1, 1) = '#')`;

/**
 * The reference for a reason, with its id cached across batches. Ids learnt inside a transaction only
 * join the cache once it committed (a rollback takes the inserted row with it).
 */
export class Reasons {
  readonly #ids = new Map<string, number>();
  readonly #fresh = new Map<string, number>();

  ref(stmts: Statements, json: string): string {
    let id = this.#ids.get(json) ?? this.#fresh.get(json);
    if (id === undefined) {
      stmts.get(INSERT).run(json);
      id = one<{ id: number }>(stmts.get(SELECT), json)!.id;
      this.#fresh.set(json, id);
    }
    return `#${id}`;
  }

  committed(): void {
    if (this.#ids.size + this.#fresh.size > MAX_CACHED) this.#ids.clear();
    for (const [k, v] of this.#fresh) this.#ids.set(k, v);
    this.#fresh.clear();
  }

  rolledBack(): void {
    this.#fresh.clear();
  }

  /** After retention deleted rows the cache may still name. */
  forget(): void {
    this.#ids.clear();
    this.#fresh.clear();
  }
}

/** The stored why as JSON text: a reference is looked up, inline JSON (before V6) passes through. */
export function resolveWhy(stmts: Statements, stored: string): string {
  if (!stored.startsWith('#')) return stored;
  return one<{ why: string }>(stmts.get(BY_ID), Number(stored.slice(1)))?.why ?? '{"matched":null,"tried":[]}';
}
