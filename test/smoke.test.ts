import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
describe('toolchain', () => {
  it('runs TypeScript tests on Node 24 with node:sqlite', () => {
    const db = new DatabaseSync(':memory:');
    const row = db.prepare('select 1 + 1 as v').get() as { v: number };
    assert.equal(row.v, 2);
  });
});
