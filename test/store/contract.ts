// The Store contract suite: every adapter (SQLite, PostgreSQL) runs exactly these tests.
//   describeStoreContract('sqlite', async ({ maxOccurrences }) => ({ store, cleanup }))
// makeStore must return an empty, unmigrated-or-migrated store built with the given maxOccurrences.
import type { Store } from '../../src/store/types.ts';
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

export type MakeStore = (opts: { maxOccurrences: number }) => Promise<StoreHandle>;

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
  });
}
