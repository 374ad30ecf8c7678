import assert from 'node:assert/strict';
import { sortedKeys } from '../../src/dedup/sorted-keys.ts';

describe('dedup: sortedKeys', () => {
  it('orders keys as Array.prototype.sort does, for small and large records and any characters', () => {
    const names = ['zeta', 'alpha', 'Alpha', 'alertname', '_x', 'a', '', 'é', '\u{1F600}', 'ß', 'pod', 'namespace', '10', '9'];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
    for (let round = 0; round < 200; round++) {
      const size = 1 + (next() % 40);
      const record: Record<string, string> = {};
      for (let i = 0; i < size; i++) record[`${names[next() % names.length]}${next() % 5 === 0 ? i : ''}`] = 'v';
      assert.deepEqual(sortedKeys(record), Object.keys(record).sort(), JSON.stringify(Object.keys(record)));
    }
    assert.deepEqual(sortedKeys({}), []);
  });
});
