// A threaded store's ingest path (SQLite, PostgreSQL): packed items cross to its thread by transfer,
// not by copy, and record as record() would.
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/types.ts';
import { makeItem } from './factory.ts';

export async function assertPackedItemsMove(store: Required<Pick<Store, 'pack' | 'recordPacked'>> & Pick<Store, 'listGroups'>): Promise<void> {
  const items = Array.from({ length: 150 }, (_, n) => makeItem({ fingerprint: `fp-${n % 100}`, signal: { occurrenceKey: `k${n}` } }));
  const chunks = store.pack(items);
  assert.deepEqual(chunks.map((c) => c.count), [64, 64, 22]);
  const buffers = chunks.map((c) => (c as unknown as { bytes: Uint8Array }).bytes);
  assert.ok(buffers.every((b) => b.byteLength > 0));
  // A small submission is not serialized (one call per item would cost more than it saves).
  const small = store.pack([makeItem({ fingerprint: 'fp-small', signal: { occurrenceKey: 'small' } })]);
  assert.deepEqual(small.map((c) => 'bytes' in c), [false]);
  const results = await store.recordPacked([...chunks, ...small]);
  assert.ok(buffers.every((b) => b.byteLength === 0), 'the buffers were transferred (detached here), not copied');
  assert.deepEqual(results.map((r) => r.outcome), [...Array(100).fill('new-group'), ...Array(50).fill('new-occurrence'), 'new-group']);
  assert.equal(new Set(results.map((r) => r.groupId)).size, 101);
  assert.equal((await store.listGroups({ page: 1, pageSize: 1 })).total, 101);
}
