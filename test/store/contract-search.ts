// Store contract, q= text search (issue #12): both adapters narrow through a trigram index (SQLite
// FTS5, PostgreSQL pg_trgm) and must still answer exactly "case-insensitive substring of title,
// message, pod, workload or namespace", including after the text changes and after a prune.
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/types.ts';
import { HOUR, makeItem, MINUTE, T0 } from './factory.ts';

const item = (fp: string, at: number, text: { title?: string; message?: string; pod?: string; namespace?: string }, workload = 'Deployment/web') =>
  makeItem({ fingerprint: fp, receivedAt: at, workload, signal: { title: 'T', message: 'm', pod: 'p', namespace: 'ns', occurrenceKey: `key-${fp}-${at}`, ...text } });

export function searchContract(store: () => Store): void {
  const fps = async (q: string): Promise<string[]> =>
    (await store().listGroups({ q, page: 1, pageSize: 50 })).groups.map((g) => g.fingerprint).sort();

  describe('listGroups q= (text search)', () => {
    beforeEach(async () => {
      await store().record([
        item('fp-title', T0, { title: 'KubePodCrashLooping' }),
        item('fp-message', T0, { message: 'Back-off restarting FAILED container' }),
        item('fp-pod', T0, { pod: 'checkout-7d9f8b6c5-x2k4q' }),
        item('fp-ns', T0, { namespace: 'payments-eu' }),
        item('fp-workload', T0, {}, 'StatefulSet/ledger'),
        item('fp-wild', T0, { message: 'disk 100% full on /var_log' }),
      ]);
    });

    it('finds a case-insensitive substring in each searched column', async () => {
      assert.deepEqual(await fps('podcrash'), ['fp-title']);
      assert.deepEqual(await fps('failed cont'), ['fp-message']);
      assert.deepEqual(await fps('7D9F8B'), ['fp-pod']);
      assert.deepEqual(await fps('ments-e'), ['fp-ns']);
      assert.deepEqual(await fps('set/ledg'), ['fp-workload']);
      assert.deepEqual(await fps('no such text anywhere'), []);
    });

    it('answers text shorter than three characters and treats LIKE wildcards literally', async () => {
      assert.deepEqual(await fps('eu'), ['fp-ns']);
      assert.deepEqual(await fps('0%'), ['fp-wild']);
      assert.deepEqual(await fps('% full'), ['fp-wild']);
      assert.deepEqual(await fps('r_l'), ['fp-wild']);
      assert.deepEqual(await fps('k_p'), []);
    });

    it('matches backslashes and LIKE wildcards as themselves, also in long text, and drops a NUL', async () => {
      await store().record([
        item('fp-path', T0, { message: 'cannot open C:\\temp\\%x_1%.log' }),
        item('fp-long', T0, { message: `${'x'.repeat(5000)} needle_\\% ${'y'.repeat(5000)}` }),
      ]);
      assert.deepEqual(await fps('\\temp\\'), ['fp-path']);
      assert.deepEqual(await fps('\\%x_1%.'), ['fp-path']);
      assert.deepEqual(await fps('temp%'), []);
      assert.deepEqual(await fps('\\'), ['fp-long', 'fp-path']);
      assert.deepEqual(await fps('NEEDLE_\\%'), ['fp-long']);
      assert.deepEqual(await fps('needlex'), []);
      assert.deepEqual(await fps('need\u0000le_'), ['fp-long'], 'a NUL in the text searched for is dropped, on both stores');
      assert.deepEqual(await fps(`${'x'.repeat(4990)} needle_`), ['fp-long'], 'long text searched for');
      assert.deepEqual(await fps('x'.repeat(20_000)), [], 'a 20,000-character text searched for');
    });

    it('counts every match on every page, including a page past the end', async () => {
      const more = [item('fp-a', T0, { message: 'quota exceeded in zone a' }), item('fp-b', T0, { message: 'quota exceeded in zone b' }), item('fp-c', T0, { message: 'quota exceeded in zone c' })];
      await store().record(more);
      const q = (n: number, pageSize: number) => store().listGroups({ q: 'QUOTA exceeded', page: n, pageSize });
      assert.deepEqual([(await q(1, 2)).total, (await q(1, 2)).groups.length], [3, 2]);
      assert.deepEqual([(await q(2, 2)).total, (await q(2, 2)).groups.length], [3, 1]);
      assert.deepEqual([(await q(9, 2)).total, (await q(9, 2)).groups.length], [3, 0], 'past the end: no rows, the total still told');
      assert.equal((await store().listGroups({ q: 'no such text anywhere', page: 1, pageSize: 2 })).total, 0);
    });

    it('pages q= matches in the requested order, with the other filters, like the listing without q=', async () => {
      const zone = (fp: string, at: number, namespace: string) => item(fp, at, { message: `quota exceeded in ${fp}`, namespace });
      await store().record([zone('fp-q1', T0, 'a'), zone('fp-q2', T0 + 3 * MINUTE, 'a'), zone('fp-q3', T0 + MINUTE, 'b'), zone('fp-q4', T0 + 2 * MINUTE, 'a')]);
      await store().record([zone('fp-q1', T0 + 4 * MINUTE, 'a')]);
      for (const sort of ['lastSeen', 'firstSeen', 'count'] as const) {
        for (const order of ['asc', 'desc'] as const) {
          const query = { sort, order, namespace: 'a', pageSize: 2 };
          const page = async (n: number, q?: string) => {
            const r = await store().listGroups({ ...query, page: n, ...(q ? { q } : {}) });
            return { total: r.total, fps: r.groups.map((g) => g.fingerprint) };
          };
          // Without q= every group of namespace a is a quota group: the two listings must agree page by page.
          for (const n of [1, 2, 3]) assert.deepEqual(await page(n, 'QUOTA exc'), await page(n), `${sort} ${order} page ${n}`);
        }
      }
      const first = await store().listGroups({ q: 'quota', sort: 'lastSeen', order: 'desc', page: 1, pageSize: 10 });
      assert.deepEqual(first.groups.map((g) => g.fingerprint), ['fp-q1', 'fp-q2', 'fp-q4', 'fp-q3']);
    });

    it('does not match text that spans two columns', async () => {
      // title "T" then message "m": the indexes may join columns; the answer must not.
      assert.deepEqual(await fps('t m'), []);
    });

    it('finds both the new groups and the changed ones of a batch that holds both', async () => {
      await store().record([
        item('fp-message', T0 + MINUTE, { message: 'now an image pull error' }),
        item('fp-new-1', T0 + MINUTE, { message: 'a first image pull' }),
        item('fp-new-2', T0 + MINUTE, { pod: 'image-pull-checker' }),
      ]);
      assert.deepEqual(await fps('failed cont'), []);
      assert.deepEqual(await fps('image pull'), ['fp-message', 'fp-new-1']);
      assert.deepEqual(await fps('image-pull'), ['fp-new-2']);
    });

    it('follows a changed message and forgets a pruned group', async () => {
      await store().record([item('fp-message', T0 + MINUTE, { message: 'now an image pull error' })]);
      assert.deepEqual(await fps('failed cont'), []);
      assert.deepEqual(await fps('image pull'), ['fp-message']);
      await store().record([item('fp-late', T0 + 2 * HOUR, { message: 'image pull again' })]);
      await store().prune(T0 + HOUR);
      assert.deepEqual(await fps('image pull'), ['fp-late']);
    });
  });
}
