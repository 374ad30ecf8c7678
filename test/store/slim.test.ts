// What a waiting submission keeps (src/store/slim.ts): what the threaded stores (SQLite, PostgreSQL)
// serialize or post to their thread. That slim items record what full ones do is in the store contract.
import assert from 'node:assert/strict';
import { packSlim, slim } from '../../src/store/slim.ts';
import { makeItem } from './factory.ts';

describe('slim items', () => {
  it('keep what a store writes, drop the copies of the description, and pack in chunks of 64 in order', () => {
    const items = Array.from({ length: 150 }, (_, n) => ({
      ...makeItem({ fingerprint: `fp-${n}`, signal: { occurrenceKey: `k${n}`, annotations: { description: 'x'.repeat(2000) }, generatorUrl: 'http://p' } }),
      normalizedMessage: 'x'.repeat(2000),
    }));
    const chunks = packSlim(items);
    assert.deepEqual(chunks.map((c) => c.count), [64, 64, 22]);
    const back = chunks.flatMap((c) => c.items);
    assert.deepEqual(back.map((i) => i.fingerprint), items.map((i) => i.fingerprint));
    for (const [i, s] of back.entries()) {
      assert.deepEqual(s.signal.annotations, {});
      assert.equal(s.normalizedMessage, '');
      assert.equal(s.signal.generatorUrl, '');
      const { signal, classification, receivedAt, expiresAt, workload } = items[i];
      assert.deepEqual([s.signal.message, s.signal.labels, s.signal.occurrenceKey, s.signal.state, s.signal.endsAt, s.classification, s.receivedAt, s.expiresAt, s.workload],
        [signal.message, signal.labels, signal.occurrenceKey, signal.state, signal.endsAt, classification, receivedAt, expiresAt, workload]);
    }
    assert.deepEqual(slim(items[0]), back[0]);
  });
});
