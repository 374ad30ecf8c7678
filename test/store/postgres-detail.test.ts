// A group's detail on PostgreSQL (GET /api/errors/:id) is read in one snapshot: its count, its newest
// occurrences and its audit come from the same moment, even while batches for it commit. Three reads
// on three pooled connections could each see a different commit (a count the listed occurrences do
// not add up to, an audit entry newer than the group row).
import assert from 'node:assert/strict';
import { PostgresStore } from '../../src/store/postgres/store.ts';
import { postgresAvailable, TestDatabases, type TestDatabase } from '../ha/pg.ts';
import { requireComponent } from '../support/proc.ts';
import { makeItem, T0 } from './factory.ts';

const dbs = new TestDatabases();

describe('PostgresStore: a group\'s detail', function () {
  let db: TestDatabase;
  let store: PostgresStore;

  before(async function () {
    requireComponent(this, 'PostgreSQL at 127.0.0.1:5432 (KS_TEST_PG_URL)', await postgresAvailable());
  });
  after(() => dbs.dispose());
  beforeEach(async () => {
    db = await dbs.create({ migrated: true });
    // Connections enough for the writer and reads at once (the three-query read took three of them).
    store = new PostgresStore({ url: db.url, maxOccurrences: 1000, poolMax: 6 });
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    await db.drop();
  });

  it('counts, lists and audits from one snapshot while occurrences and audit entries commit', async function () {
    this.timeout(30_000);
    const item = (n: number) => makeItem({ fingerprint: 'fp-detail', receivedAt: T0 + n, signal: { occurrenceKey: `k${n}` } });
    const [first] = await store.record([item(0)]);
    const id = first.groupId;
    // Every occurrence is a new one (count 1) and is followed by one audit entry about the group, so at
    // any commit the group's count = the occurrences listed (the cap is far away), and the audit holds
    // count - 2 entries (between the two writes) or count - 1, of which the detail shows the newest 100.
    const writes = 300;
    let written = 0;
    const writer = (async () => {
      for (let n = 1; n <= writes; n++) {
        await store.record([item(n)]);
        await store.appendAudit({
          requestId: null, groupId: id, at: T0 + n, rule: 'crashloop-backoff', action: 'restart-pod', namespace: 'shop',
          target: 'Deployment/web', outcome: 'skipped', reason: 'cooldown', message: `n${n}`, actor: 'test', cooldownKey: '',
        });
        written = n;
      }
    })();
    const seen: string[] = [];
    let reads = 0;
    try {
      while (written < writes && reads < 2000) {
        const d = await store.getGroup(id);
        reads++;
        assert.ok(d);
        const audits = d.remediations.length;
        if (d.occurrences.length !== d.count || audits < Math.min(100, d.count - 2) || audits > Math.min(100, d.count - 1)) {
          seen.push(`count ${d.count}, ${d.occurrences.length} occurrences, ${audits} audit entries`);
        }
      }
    } finally {
      // The writer ends before the store closes, whatever a read did.
      await writer;
    }
    assert.ok(reads >= 20, `only ${reads} reads overlapped the writes`);
    assert.deepEqual(seen.slice(0, 5), [], `${seen.length} of ${reads} details mixed commits`);
    const last = await store.getGroup(id);
    assert.equal(last?.count, writes + 1);
    assert.equal(last?.occurrences.length, writes + 1);
    assert.equal(last?.remediations.length, 100, 'the newest 100 audit entries');
    assert.equal(last?.remediations[0]?.message, `n${writes}`, 'newest first');
  });
});
