// PostgreSQL occurrences "as the group" (migration V10, src/store/occurrence-text.ts): a new alert's
// text is written once, on its group. That they read back whole, also after the group's text changed,
// is the store contract's (contract-record.ts); this file checks what is stored, and that the write
// touches old rows only when a group's text really changes.
import assert from 'node:assert/strict';
import type { QueryResult } from 'pg';
import { KEEP_OLD_TEXT } from '../../src/store/postgres/record.ts';
import { PostgresStore } from '../../src/store/postgres/store.ts';
import { migratedDatabasePerTest } from '../ha/pg.ts';
import { makeItem, T0 } from './factory.ts';

describe('PostgresStore occurrences "as the group"', function () {
  let store: PostgresStore;
  const t = migratedDatabasePerTest(() => store.close());
  beforeEach(() => {
    store = new PostgresStore({ url: t.db.url, maxOccurrences: 10, poolMax: 2 });
  });
  const stored = async (): Promise<string[][]> =>
    (await t.sql.query('SELECT message, labels FROM occurrences ORDER BY id')).rows.map((r: { message: string; labels: string }) => [r.message, r.labels]);
  const item = (fingerprint: string, key: string, message: string, labels: Record<string, string>) =>
    makeItem({ fingerprint, signal: { occurrenceKey: key, message, labels } });

  it('an occurrence with its group\'s text stores none of it; one with other text keeps its own', async () => {
    const [first] = await store.record([
      item('fp-a', 'k1', 'first', { v: '1' }), item('fp-a', 'k2', 'second', { v: '2' }), item('fp-b', 'k3', 'solo', { v: '3' }),
    ]);
    assert.deepEqual(await stored(), [['first', '{"v":"1"}'], ['', ''], ['', '']]);
    const g = await store.getGroup(first.groupId, { occurrences: 5 });
    assert.deepEqual(g?.occurrences.map((o) => [o.message, o.labels.v]), [['second', '2'], ['first', '1']]);
  });

  it('texts PostgreSQL and JavaScript could encode differently hash alike: a text sent again rewrites no row', async () => {
    // Had the two hashes differed, the second batch would count the text as changed and write the old
    // text into the first row (the write's `kept`), which would then no longer be ''.
    const texts = ['ascii', 'é ü ß 中文', 'emoji 🔥', 'lone \uD800 surrogate', 'nul \u0000 char', 'quote " backslash \\ brace }', 'x'.repeat(70_000)];
    for (const [n, text] of texts.entries()) {
      await store.record([item(`fp-${n}`, 'k1', text, { [text]: text })]);
      await store.record([item(`fp-${n}`, 'k2', text, { [text]: text })]);
    }
    assert.deepEqual(await stored(), texts.flatMap(() => [['', ''], ['', '']]));
  });

  it('refuses a row marked "as the group" that carries a message of its own', async () => {
    const [r] = await store.record([item('fp-a', 'k1', 'text', { v: '1' })]);
    await assert.rejects(t.sql.query(`INSERT INTO occurrences (group_id, at, channel, message, count, labels)
      VALUES ($1, ${T0}, 'alertmanager', 'own text', 1, '')`, [r.groupId]), /occurrences_as_group/);
  });

  it('keeping a changed group\'s old text probes the occurrences by index, even on statistics from an empty table', async () => {
    // As in the first minutes of a storm: 20 000 rows, and autovacuum has not analyzed any of them.
    await t.sql.query('ALTER TABLE occurrences SET (autovacuum_enabled = false)');
    await store.record(Array.from({ length: 500 }, (_, i) => item(`fp-${i}`, 'k', `m${i}`, { v: String(i) })));
    await t.sql.query(`INSERT INTO occurrences (group_id, at, channel, message, count, labels)
      SELECT id, ${T0}, 'alertmanager', '', 1, '' FROM error_groups, generate_series(1, 40)`);
    const [{ id }] = (await t.sql.query('SELECT min(id) AS id FROM error_groups')).rows as Array<{ id: string }>;
    // Sent as an unnamed statement, it is planned for its ids each time: here they are a literal.
    const explain = await t.sql.query(`EXPLAIN ${KEEP_OLD_TEXT.replace('$1', `'{${id}}'`)}`) as QueryResult;
    const plan = explain.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
    assert.match(plan, /occurrences_group/, plan);
    assert.doesNotMatch(plan, /Seq Scan on occurrences/, plan);
  });
});
