// The Store contract suite: every adapter (SQLite, PostgreSQL) runs exactly these tests.
//   describeStoreContract('sqlite', async ({ maxOccurrences }) => ({ store, cleanup }))
// makeStore must return an empty, unmigrated-or-migrated store built with the given options.
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/types.ts';
import { makeItem } from './factory.ts';
import { queryContract } from './contract-queries.ts';
import { recordContract } from './contract-record.ts';
import { loopContract } from './contract-loop.ts';
import { outboxContract } from './contract-outbox.ts';
import { remediationContract } from './contract-remediation.ts';
import { searchContract } from './contract-search.ts';

interface StoreHandle {
  store: Store;
  cleanup: () => Promise<void>;
}

export type MakeStore = (opts: { maxOccurrences: number; notifyOnIngest?: boolean }) => Promise<StoreHandle>;

/** The occurrence cap the suite builds stores with (small, so trimming is exercised). */
const CONTRACT_MAX_OCCURRENCES = 5;

export function describeStoreContract(name: string, makeStore: MakeStore): void {
  describe(`Store contract: ${name}`, () => {
    let handle: StoreHandle | undefined;
    const current = (): Store => {
      if (!handle) throw new Error('store not created');
      return handle.store;
    };

    beforeEach(async () => {
      handle = await makeStore({ maxOccurrences: CONTRACT_MAX_OCCURRENCES });
      await handle.store.migrate();
    });
    afterEach(async () => {
      await handle?.cleanup();
      handle = undefined;
    });

    it('migrate is idempotent and ping answers', async () => {
      await current().migrate();
      await current().ping();
    });

    recordContract(current);
    queryContract(current);
    remediationContract(current);
    outboxContract(current);
    loopContract(current);
    searchContract(current);

    it('with no notification receiver (notifyOnIngest: false) ingest commits its groups and writes no outbox event', async () => {
      const quiet = await makeStore({ maxOccurrences: CONTRACT_MAX_OCCURRENCES, notifyOnIngest: false });
      try {
        await quiet.store.migrate();
        const results = await quiet.store.record([makeItem({ fingerprint: 'fp-q1' }), makeItem({ fingerprint: 'fp-q2' })]);
        assert.deepEqual(results.map((r) => r.outcome), ['new-group', 'new-group']);
        assert.equal((await quiet.store.listGroups({ page: 1, pageSize: 10 })).total, 2);
        assert.deepEqual(await quiet.store.pendingNotificationEvents(10), []);
      } finally {
        await quiet.cleanup();
      }
      // The suite's own store (the default) writes them.
      await current().record([makeItem({ fingerprint: 'fp-q1' })]);
      assert.equal((await current().pendingNotificationEvents(10)).length, 1);
    });
  });
}
