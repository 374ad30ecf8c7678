// Store contract, part 1: record() — dedup semantics, group state, batch merging, occurrences.
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/types.ts';
import { slim } from '../../src/store/slim.ts';
import { HOUR, makeItem, MINUTE, restartPod, T0 } from './factory.ts';

const alert = (key: string, receivedAt: number, state: 'firing' | 'resolved' = 'firing', endsAt: number | null = null) =>
  makeItem({ receivedAt, signal: { occurrenceKey: key, state, endsAt } });

const event = (key: string, count: number, receivedAt: number) => makeItem({
  fingerprint: 'fp-event',
  receivedAt,
  signal: {
    source: 'event', channel: 'events', title: 'BackOff', reason: 'BackOff', eventType: 'Warning',
    occurrenceKey: key, occurrenceCount: count, alertFingerprint: null,
  },
});

export function recordContract(store: () => Store): void {
  const group = async (id: number) => {
    const g = await store().getGroup(id);
    assert.ok(g, `group ${id} exists`);
    return g;
  };

  describe('record: dedup semantics', () => {
    it('a failed batch commits nothing', async () => {
      const bad = makeItem({ fingerprint: 'fp-bad' });
      // A circular label map cannot be serialised: the batch must roll back as a whole.
      (bad.signal.labels as Record<string, unknown>).self = bad.signal.labels;
      await assert.rejects(store().record([makeItem({ fingerprint: 'fp-ok' }), bad]));
      assert.equal((await store().listGroups({ page: 1, pageSize: 10 })).total, 0);
    });

    it('creates a group carrying every field of the item', async () => {
      const item = makeItem();
      const [r] = await store().record([item]);
      assert.deepEqual({ ...r, groupId: 0 }, { groupId: 0, outcome: 'new-group', countDelta: 1, remediationRequestId: null });
      const g = await group(r.groupId);
      assert.deepEqual({ ...g, id: 0, occurrences: [], remediations: [] }, {
        id: 0,
        fingerprint: 'fp-a',
        alertFingerprint: '0123456789abcdef',
        source: 'alert',
        priority: 'P1',
        rule: 'crashloop-backoff',
        status: 'firing',
        title: 'KubePodCrashLooping',
        message: item.signal.message,
        namespace: 'shop',
        pod: 'web-7d4b9c-x2x9z',
        container: 'api',
        workload: 'Deployment/web',
        labels: item.signal.labels,
        count: 1,
        firstSeen: new Date(T0).toISOString(),
        lastSeen: new Date(T0).toISOString(),
        resolvedAt: null,
        expiresAt: new Date(T0 + 5 * MINUTE).toISOString(),
        remediation: null,
        occurrences: [],
        why: item.classification.reason,
        remediations: [],
      });
    });

    it('a slim item (what ThreadedSqliteStore posts to its thread) records exactly what the full item does', async () => {
      const full = (fp: string) => makeItem({
        fingerprint: fp, classification: { remediation: restartPod() },
        signal: { annotations: { summary: 's', description: 'd' }, reason: 'BackOff', eventType: 'Warning', generatorUrl: 'http://p' },
      });
      // A batch each, the first request claimed in between: the second would otherwise share it.
      const [a] = await store().record([full('fp-full')]);
      const claimed = [await store().claimRequest('h', T0 + MINUTE, 1000)];
      const [b] = await store().record([slim(full('fp-slim'))]);
      claimed.push(await store().claimRequest('h', T0 + MINUTE, 1000));
      const shown = async (id: number) => ({ ...(await group(id)), id: 0, fingerprint: '' });
      assert.deepEqual(await shown(b.groupId), await shown(a.groupId));
      assert.ok(claimed[0] !== null && claimed[1] !== null, 'both queued a remediation request');
      const request = (r: (typeof claimed)[0]) => ({ ...r, id: 0, groupId: 0, fingerprint: '' });
      assert.deepEqual(request(claimed[1]), request(claimed[0]));
    });

    it('a re-delivery refreshes lastSeen and expiry but never inflates count', async () => {
      const [a] = await store().record([alert('k1', T0)]);
      const [b] = await store().record([alert('k1', T0 + MINUTE)]);
      const [c] = await store().record([alert('k1', T0 + 2 * MINUTE)]);
      assert.equal(b.outcome, 'redelivery');
      assert.equal(c.countDelta, 0);
      assert.equal(b.groupId, a.groupId);
      const g = await group(a.groupId);
      assert.equal(g.count, 1);
      assert.equal(g.firstSeen, new Date(T0).toISOString());
      assert.equal(g.lastSeen, new Date(T0 + 2 * MINUTE).toISOString());
      assert.equal(g.expiresAt, new Date(T0 + 7 * MINUTE).toISOString());
      assert.equal(g.occurrences.length, 1, 're-deliveries add no occurrence rows');
    });

    it('a new occurrence key in an existing group counts once more', async () => {
      const [a] = await store().record([alert('k1', T0)]);
      const [b] = await store().record([alert('k2', T0 + MINUTE)]);
      assert.equal(b.outcome, 'new-occurrence');
      assert.equal(b.groupId, a.groupId);
      assert.equal((await group(a.groupId)).count, 2);
    });

    it('an Event count rise adds the rise; an older lower count adds nothing', async () => {
      const [a] = await store().record([event('uid-1', 3, T0)]);
      assert.deepEqual([a.outcome, a.countDelta], ['new-group', 3]);
      const [b] = await store().record([event('uid-1', 5, T0 + MINUTE)]);
      assert.deepEqual([b.outcome, b.countDelta], ['count-increase', 2]);
      const [c] = await store().record([event('uid-1', 4, T0 + 2 * MINUTE)]);
      assert.deepEqual([c.outcome, c.countDelta], ['redelivery', 0]);
      const [d] = await store().record([event('uid-1', 6, T0 + 3 * MINUTE)]);
      assert.deepEqual([d.outcome, d.countDelta], ['count-increase', 1]);
      const g = await group(a.groupId);
      assert.equal(g.count, 6);
      assert.equal(g.source, 'event');
      assert.equal(g.alertFingerprint, null);
    });

    it('a resolution resolves at the sender endsAt without counting', async () => {
      const [a] = await store().record([alert('k1', T0)]);
      const [b] = await store().record([alert('k1', T0 + 10 * MINUTE, 'resolved', T0 + 9 * MINUTE)]);
      assert.deepEqual([b.outcome, b.countDelta, b.groupId], ['resolved', 0, a.groupId]);
      const g = await group(a.groupId);
      assert.equal(g.status, 'resolved');
      assert.equal(g.resolvedAt, new Date(T0 + 9 * MINUTE).toISOString());
      assert.equal(g.count, 1);
    });

    it('a resolution without endsAt resolves at receipt', async () => {
      const [a] = await store().record([alert('k1', T0)]);
      await store().record([alert('k1', T0 + 3 * MINUTE, 'resolved', null)]);
      assert.equal((await group(a.groupId)).resolvedAt, new Date(T0 + 3 * MINUTE).toISOString());
    });

    it('a stale firing copy after the resolution does not reopen the group', async () => {
      const [a] = await store().record([alert('k1', T0)]);
      await store().record([alert('k1', T0 + MINUTE, 'resolved', T0 + MINUTE)]);
      const [c] = await store().record([alert('k1', T0 + 2 * MINUTE)]);
      assert.deepEqual([c.outcome, c.countDelta], ['stale', 0]);
      const g = await group(a.groupId);
      assert.equal(g.status, 'resolved');
      assert.equal(g.resolvedAt, new Date(T0 + MINUTE).toISOString());
      assert.equal(g.count, 1);
    });

    it('a new firing (new startsAt, new key) reopens a resolved group', async () => {
      const [a] = await store().record([alert('k1', T0)]);
      await store().record([alert('k1', T0 + MINUTE, 'resolved', T0 + MINUTE)]);
      const [c] = await store().record([alert('k2', T0 + 2 * MINUTE)]);
      assert.deepEqual([c.outcome, c.countDelta], ['new-occurrence', 1]);
      const g = await group(a.groupId);
      assert.equal(g.status, 'firing');
      assert.equal(g.resolvedAt, null);
      assert.equal(g.count, 2);
    });

    it('a late re-sent resolution of the old key cannot close the reopened group', async () => {
      const [a] = await store().record([alert('k1', T0)]);
      await store().record([alert('k1', T0 + MINUTE, 'resolved', T0 + MINUTE)]);
      await store().record([alert('k2', T0 + 2 * MINUTE)]);
      const [d] = await store().record([alert('k1', T0 + 3 * MINUTE, 'resolved', T0 + MINUTE)]);
      assert.equal(d.outcome, 'redelivery');
      assert.equal((await group(a.groupId)).status, 'firing');
    });

    it('a resolution never seen firing creates a resolved group counted once', async () => {
      const [r] = await store().record([alert('k9', T0 + MINUTE, 'resolved', T0)]);
      assert.deepEqual([r.outcome, r.countDelta], ['resolved', 1]);
      const g = await group(r.groupId);
      assert.deepEqual([g.status, g.count, g.resolvedAt], ['resolved', 1, new Date(T0).toISOString()]);
    });

    it('the latest item sets priority, rule, title, message and labels', async () => {
      const [a] = await store().record([alert('k1', T0)]);
      await store().record([makeItem({
        receivedAt: T0 + MINUTE,
        signal: { occurrenceKey: 'k2', title: 'Renamed', message: 'new text', labels: { a: 'b' } },
        classification: { priority: 'P2', rule: 'other', reason: { matched: 'other', tried: [] } },
      })]);
      const g = await group(a.groupId);
      assert.deepEqual([g.priority, g.rule, g.title, g.message, g.labels], ['P2', 'other', 'Renamed', 'new text', { a: 'b' }]);
      assert.deepEqual(g.why, { matched: 'other', tried: [] });
    });
  });

  describe('record: batches', () => {
    it('merges many items of one fingerprint in one call, deciding them in arrival order', async () => {
      const items = [];
      for (let i = 0; i < 60; i++) items.push(alert(`k${i % 40}`, T0 + i * 1000));
      const results = await store().record(items);
      assert.equal(results.length, 60);
      assert.equal(new Set(results.map((r) => r.groupId)).size, 1);
      assert.equal(results[0].outcome, 'new-group');
      assert.deepEqual(new Set(results.slice(1, 40).map((r) => r.outcome)), new Set(['new-occurrence']));
      assert.deepEqual(new Set(results.slice(40).map((r) => r.outcome)), new Set(['redelivery']));
      const g = await group(results[0].groupId);
      assert.equal(g.count, 40);
      assert.equal(g.firstSeen, new Date(T0).toISOString());
      assert.equal(g.lastSeen, new Date(T0 + 59_000).toISOString());
    });

    it('returns results in input order across unsorted fingerprints', async () => {
      const fps = ['fp-z', 'fp-b', 'fp-m', 'fp-b', 'fp-a'];
      const results = await store().record(fps.map((fingerprint, i) =>
        makeItem({ fingerprint, receivedAt: T0 + i, signal: { occurrenceKey: `k-${i}` } })));
      assert.deepEqual(results.map((r) => r.outcome), ['new-group', 'new-group', 'new-group', 'new-occurrence', 'new-group']);
      assert.equal(results[1].groupId, results[3].groupId);
      for (const [i, r] of results.entries()) assert.equal((await group(r.groupId)).fingerprint, fps[i]);
    });

    it('firing then resolved in one batch ends resolved; resolved then new firing ends firing', async () => {
      const [, r] = await store().record([alert('k1', T0), alert('k1', T0 + 1, 'resolved', T0 + 1)]);
      assert.equal(r.outcome, 'resolved');
      assert.equal((await group(r.groupId)).status, 'resolved');
      const [, s] = await store().record([alert('k1', T0 + 2, 'resolved', T0 + 1), alert('k2', T0 + 3)]);
      assert.equal(s.outcome, 'new-occurrence');
      assert.equal((await group(s.groupId)).status, 'firing');
    });

    it('an empty batch is a no-op', async () => {
      assert.deepEqual(await store().record([]), []);
    });
  });

  describe('record: occurrences', () => {
    it('keeps only the newest max_occurrences rows per group, newest first, while count keeps counting', async () => {
      for (let i = 0; i < 8; i++) {
        await store().record([makeItem({ receivedAt: T0 + i * MINUTE, signal: { occurrenceKey: `k${i}`, message: `m${i}` } })]);
      }
      const [r] = await store().record([alert('k7', T0 + HOUR)]); // re-delivery: no row
      const g = await group(r.groupId);
      assert.equal(g.count, 8);
      assert.deepEqual(g.occurrences.map((o) => o.message), ['m7', 'm6', 'm5', 'm4', 'm3']);
      assert.deepEqual(g.occurrences[0], {
        at: new Date(T0 + 7 * MINUTE).toISOString(), channel: 'alertmanager', message: 'm7', count: 1,
        labels: makeItem().signal.labels,
      });
      const wide = await store().getGroup(r.groupId, { occurrences: 100 });
      assert.equal(wide?.occurrences.length, 5, 'older rows are deleted, not just hidden');
      const two = await store().getGroup(r.groupId, { occurrences: 2 });
      assert.deepEqual(two?.occurrences.map((o) => o.message), ['m7', 'm6']);
    });

    it('an Event count rise is one occurrence row carrying the rise', async () => {
      await store().record([event('uid-1', 2, T0)]);
      const [r] = await store().record([event('uid-1', 7, T0 + MINUTE)]);
      const g = await group(r.groupId);
      assert.deepEqual(g.occurrences.map((o) => o.count), [5, 2]);
    });

    it('stores hostile text and absurd counts without failing the batch', async () => {
      const nasty = 'nul\u0000 lone\uD800 surrogate 🔥 ' + 'x'.repeat(64 * 1024);
      const [r] = await store().record([makeItem({
        signal: { message: nasty, title: nasty, labels: { [nasty]: nasty }, occurrenceCount: 1e300, endsAt: Number.NaN },
      })]);
      const g = await group(r.groupId);
      assert.equal(g.count, 2_147_483_647, 'clamped to int32 like a Kubernetes Event count');
      assert.ok(g.message.includes('surrogate 🔥'));
      assert.equal((await store().listGroups({ q: 'SURROGATE 🔥', page: 1, pageSize: 5 })).total, 1);
    });

    it('each occurrence keeps its own message and labels when later ones change the group\'s', async () => {
      const item = (key: string, at: number, message: string, labels: Record<string, string>) =>
        makeItem({ receivedAt: at, signal: { occurrenceKey: key, message, labels } });
      // Within one batch (the group takes the last item's text) and across batches (max_occurrences is 5).
      const [r] = await store().record([item('k1', T0, 'first', { v: '1' }), item('k2', T0 + 1, 'second', { v: '2' })]);
      await store().record([item('k4', T0 + 3, 'third', { v: '2' }), item('k5', T0 + 4, 'third', { v: '3' })]);
      await store().record([item('k6', T0 + 5, 'fourth', { v: '4' })]);
      const g = await group(r.groupId);
      assert.deepEqual(g.occurrences.map((o) => [o.message, o.labels.v]),
        [['fourth', '4'], ['third', '3'], ['third', '2'], ['second', '2'], ['first', '1']]);
      assert.deepEqual([g.message, g.labels], ['fourth', { v: '4' }]);
    });

    it('a classification reason shared by groups survives retention of some of them', async () => {
      const why = { matched: 'crashloop-backoff', tried: [{ rule: 'shared', failed: 'pattern' }] };
      const at = (fingerprint: string, receivedAt: number) => makeItem({ fingerprint, receivedAt, classification: { reason: why } });
      const [a] = await store().record([at('fp-old', T0)]);
      const [b] = await store().record([at('fp-kept', T0 + HOUR)]);
      assert.equal(await store().prune(T0 + 1), 1);
      assert.equal(await store().getGroup(a.groupId), null);
      assert.deepEqual((await group(b.groupId)).why, why);
      await store().prune(T0 + 2 * HOUR);
      const [c] = await store().record([at('fp-new', T0 + 3 * HOUR)]);
      assert.deepEqual((await group(c.groupId)).why, why);
    });

    it('getGroup of an unknown id is null', async () => {
      assert.equal(await store().getGroup(424242), null);
    });
  });
}
