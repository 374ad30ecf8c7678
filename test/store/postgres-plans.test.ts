// PostgreSQL plans that must not depend on fresh statistics: during a storm the tables fill faster than
// autovacuum analyzes them, and a plan chosen on "few rows" then costs O(backlog) per statement.
import assert from 'node:assert/strict';
import type { QueryResult } from 'pg';
import { PostgresStore } from '../../src/store/postgres/store.ts';
import { CLAIM_PLANNER, claimUpdate } from '../../src/store/postgres/remediation.ts';
import { sharedStatement } from '../../src/store/postgres/record.ts';
import { migratedDatabasePerTest } from '../ha/pg.ts';
import { makeItem, restartPod, T0 } from './factory.ts';

describe('PostgresStore plans under stale statistics', function () {
  let store: PostgresStore;
  const t = migratedDatabasePerTest(() => store.close());
  beforeEach(async () => {
    // Statistics stay as they were when the table was empty, as in the first minute of a storm.
    await t.sql.query('ALTER TABLE remediation_requests SET (autovacuum_enabled = false)');
    store = new PostgresStore({ url: t.db.url, maxOccurrences: 10, poolMax: 4 });
  });

  it('the remediation claim walks the claim-order index, never sorting the queue, and takes the oldest (one or a batch)', async function () {
    this.timeout(30_000);
    for (let b = 0; b < 6; b++) {
      await store.record(Array.from({ length: 500 }, (_, i) => makeItem({
        // A pod each: groups about one pod would share one request (src/store/request-sharing.ts).
        fingerprint: `fp-${b}-${i}`, receivedAt: T0 + b * 1000 + i, signal: { pod: `web-${b}-${i}` }, classification: { remediation: restartPod() },
      })));
    }
    const plan = async (prefix: string) => {
      const results = await t.sql.query(`${prefix}EXPLAIN ${claimUpdate('leader', T0 + 60_000, 30_000, 64)}`) as unknown as QueryResult | QueryResult[];
      const explain = Array.isArray(results) ? results.at(-1)! : results;
      return explain.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
    };
    // The setting is what decides: without it this very statement sorts the whole queue.
    assert.match(await plan(''), /Sort/, 'the planner sorts when left alone (the case this guards against)');
    const chosen = await plan(`${CLAIM_PLANNER}; `);
    assert.doesNotMatch(chosen, /Sort/);
    assert.match(chosen, /remediation_requests_claim_order/);
    const first = await store.claimRequest('leader', T0 + 60_000, 30_000);
    assert.equal(first?.fingerprint, 'fp-0-0');
    assert.equal(first?.state, 'claimed');
    assert.equal(first?.claimedUntil, T0 + 90_000);
    const next = await store.claimRequests('leader', T0 + 60_000, 30_000, 64);
    assert.deepEqual(next.map((r) => r.fingerprint), Array.from({ length: 64 }, (_, i) => `fp-0-${i + 1}`), 'the next 64, oldest first');
  });

  it('ingest looks up a target\'s shareable request through its index, however many requests the table holds', async function () {
    this.timeout(30_000);
    for (let b = 0; b < 6; b++) {
      await store.record(Array.from({ length: 500 }, (_, i) => makeItem({
        fingerprint: `fp-${b}-${i}`, receivedAt: T0 + b * 1000 + i, signal: { pod: `web-${b}-${i}` }, classification: { remediation: restartPod() },
      })));
      await store.claimRequests('leader', T0 + 60_000, 30_000, 256);
      await store.claimRequests('leader', T0 + 60_000, 30_000, 256);
    }
    const explain = await t.sql.query(`EXPLAIN ${sharedStatement(['web-5-1', 'web-5-2'], ['shop'])}`);
    const plan = explain.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
    assert.match(plan, /remediation_requests_shareable/, plan);
    assert.doesNotMatch(plan, /Seq Scan/, plan);
  });
});
