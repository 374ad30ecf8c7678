// Store contract, part 2: listGroups filters/sort/pagination, stats, ruleHits, expire, prune.
import assert from 'node:assert/strict';
import type { Priority, SourceKind } from '../../src/domain/types.ts';
import type { GroupQuery, Store } from '../../src/store/types.ts';
import { HOUR, makeItem, MINUTE, T0 } from './factory.ts';

interface Seed {
  fp: string;
  priority: Priority;
  namespace: string;
  pod: string;
  rule: string | null;
  source: SourceKind;
  at: number;
  count: number;
  title: string;
  message: string;
  workload: string;
  resolve?: boolean;
}

// Ordered so that no two fields sort alike by accident; see the expected orders below.
const SEEDS: Seed[] = [
  { fp: 'fp-1', priority: 'P1', namespace: 'shop', pod: 'web-1', rule: 'crashloop', source: 'alert', at: T0 + 5 * MINUTE, count: 1, title: 'KubePodCrashLooping', message: 'back-off restarting', workload: 'Deployment/web' },
  { fp: 'fp-2', priority: 'P2', namespace: 'shop', pod: 'api-1', rule: 'oom', source: 'event', at: T0 + 4 * MINUTE, count: 3, title: 'OOMKilled', message: 'container killed', workload: 'Deployment/api' },
  { fp: 'fp-3', priority: 'P1', namespace: 'billing', pod: 'pay-1', rule: 'crashloop', source: 'alert', at: T0 + 3 * MINUTE, count: 2, title: 'KubePodCrashLooping', message: 'back-off again', workload: 'Deployment/pay', resolve: true },
  { fp: 'fp-4', priority: 'P4', namespace: 'billing', pod: 'cron-1', rule: null, source: 'event', at: T0 + 2 * MINUTE, count: 1, title: 'Unknown', message: 'Something Weird happened', workload: 'Job/cron' },
  { fp: 'fp-5', priority: 'P3', namespace: 'kube-system', pod: 'dns-1', rule: 'dns', source: 'alert', at: T0 + 1 * MINUTE, count: 5, title: 'DNSErrors', message: 'SERVFAIL', workload: 'DaemonSet/CoreDNS' },
];

function seedItem(s: Seed, receivedAt = s.at, state: 'firing' | 'resolved' = 'firing') {
  return makeItem({
    fingerprint: s.fp,
    receivedAt,
    workload: s.workload,
    signal: {
      source: s.source, namespace: s.namespace, pod: s.pod, title: s.title, message: s.message,
      occurrenceKey: `key-${s.fp}`, occurrenceCount: s.count, state, endsAt: state === 'resolved' ? receivedAt : null,
    },
    classification: { priority: s.priority, rule: s.rule, reason: { matched: s.rule, tried: [] } },
  });
}

async function seed(store: Store): Promise<void> {
  for (const s of SEEDS) {
    await store.record([seedItem(s)]);
    if (s.resolve) await store.record([seedItem(s, s.at, 'resolved')]);
  }
}

export function queryContract(store: () => Store): void {
  const list = async (q: Partial<GroupQuery>) => {
    const res = await store().listGroups({ page: 1, pageSize: 50, ...q });
    return { fps: res.groups.map((g) => g.fingerprint), total: res.total, groups: res.groups };
  };

  describe('listGroups', () => {
    beforeEach(async () => seed(store()));

    it('defaults to priority (P1 first), then most recently seen', async () => {
      assert.deepEqual((await list({})).fps, ['fp-1', 'fp-3', 'fp-2', 'fp-5', 'fp-4']);
    });

    it('sorts by every key in both directions', async () => {
      const cases: Array<[Partial<GroupQuery>, string[]]> = [
        [{ sort: 'priority', order: 'desc' }, ['fp-4', 'fp-5', 'fp-2', 'fp-1', 'fp-3']],
        [{ sort: 'lastSeen' }, ['fp-1', 'fp-2', 'fp-3', 'fp-4', 'fp-5']],
        [{ sort: 'lastSeen', order: 'asc' }, ['fp-5', 'fp-4', 'fp-3', 'fp-2', 'fp-1']],
        [{ sort: 'firstSeen', order: 'asc' }, ['fp-5', 'fp-4', 'fp-3', 'fp-2', 'fp-1']],
        [{ sort: 'firstSeen', order: 'desc' }, ['fp-1', 'fp-2', 'fp-3', 'fp-4', 'fp-5']],
        // count ties are broken by lastSeen, most recent first
        [{ sort: 'count' }, ['fp-5', 'fp-2', 'fp-3', 'fp-1', 'fp-4']],
        [{ sort: 'count', order: 'asc' }, ['fp-1', 'fp-4', 'fp-3', 'fp-2', 'fp-5']],
      ];
      for (const [q, want] of cases) assert.deepEqual((await list(q)).fps, want, JSON.stringify(q));
    });

    it('applies every filter, alone and combined, with a matching total', async () => {
      const cases: Array<[Partial<GroupQuery>, string[]]> = [
        [{ priority: ['P1'] }, ['fp-1', 'fp-3']],
        [{ priority: ['P2', 'P3'] }, ['fp-2', 'fp-5']],
        [{ namespace: 'billing' }, ['fp-3', 'fp-4']],
        [{ pod: 'api-1' }, ['fp-2']],
        [{ rule: 'crashloop' }, ['fp-1', 'fp-3']],
        [{ rule: '' }, ['fp-4']],
        [{ source: 'event' }, ['fp-2', 'fp-4']],
        [{ status: 'resolved' }, ['fp-3']],
        [{ status: 'firing' }, ['fp-1', 'fp-2', 'fp-5', 'fp-4']],
        [{ since: T0 + 3 * MINUTE }, ['fp-1', 'fp-3', 'fp-2']],
        [{ namespace: 'shop', source: 'alert' }, ['fp-1']],
        [{ priority: ['P1'], status: 'firing', since: T0 }, ['fp-1']],
      ];
      for (const [q, want] of cases) {
        const res = await list(q);
        assert.deepEqual(res.fps, want, JSON.stringify(q));
        assert.equal(res.total, want.length, `total for ${JSON.stringify(q)}`);
      }
    });

    it('q is a case-insensitive literal substring of title, message, pod, workload or namespace', async () => {
      const cases: Array<[string, string[]]> = [
        ['oomkilled', ['fp-2']], // title
        ['WEIRD', ['fp-4']], // message
        ['pay-', ['fp-3']], // pod
        ['coredns', ['fp-5']], // workload
        ['BILLING', ['fp-3', 'fp-4']], // namespace
        ['%', []], // no wildcard meaning
        ['_', []],
      ];
      for (const [q, want] of cases) assert.deepEqual((await list({ q })).fps, want, q);
    });

    it('paginates with a stable order and the full total; past the end is an empty list', async () => {
      const pages = [];
      for (let page = 1; page <= 4; page++) pages.push(await list({ page, pageSize: 2 }));
      assert.deepEqual(pages.map((p) => p.fps), [['fp-1', 'fp-3'], ['fp-2', 'fp-5'], ['fp-4'], []]);
      assert.deepEqual(pages.map((p) => p.total), [5, 5, 5, 5]);
    });

    it('no match is an empty array and total 0', async () => {
      const res = await store().listGroups({ namespace: 'nowhere', page: 1, pageSize: 10 });
      assert.deepEqual(res, { groups: [], total: 0 });
    });

    it('renders times as ISO 8601 strings', async () => {
      const g = (await list({ pod: 'pay-1' })).groups[0];
      assert.equal(g.lastSeen, new Date(T0 + 3 * MINUTE).toISOString());
      assert.equal(g.resolvedAt, new Date(T0 + 3 * MINUTE).toISOString());
    });
  });

  describe('stats, ruleHits', () => {
    beforeEach(async () => seed(store()));

    it('counts groups by priority, status and source, and recent occurrences', async () => {
      const s = await store().stats(T0 + 10 * MINUTE);
      assert.deepEqual(s, {
        total: 5,
        firing: 4,
        byPriority: { P1: 2, P2: 1, P3: 1, P4: 1 },
        firingByPriority: { P1: 1, P2: 1, P3: 1, P4: 1 },
        bySource: { alert: 3, event: 2 },
        occurrencesLastHour: 12,
        remediation: { pending: 0, actedLastHour: 0, escalated: 0 },
      });
      assert.equal((await store().stats(T0 + 3 * HOUR)).occurrencesLastHour, 0);
    });

    it('sums counts per rule, unmatched under the empty name', async () => {
      assert.deepEqual(await store().ruleHits(), { crashloop: 3, oom: 3, dns: 5, '': 1 });
    });
  });

  describe('expire, prune', () => {
    beforeEach(async () => seed(store()));

    it('expire resolves firing groups past their deadline, at the deadline', async () => {
      // Deadlines: fp-1 +10m, fp-2 +9m, fp-4 +7m, fp-5 +6m (fp-3 is already resolved).
      assert.equal(await store().expire(T0 + 8 * MINUTE), 2);
      assert.equal(await store().expire(T0 + 8 * MINUTE), 0);
      const resolved = await list({ status: 'resolved' });
      assert.deepEqual(resolved.fps, ['fp-3', 'fp-5', 'fp-4']);
      assert.equal(resolved.groups[1].resolvedAt, new Date(T0 + 6 * MINUTE).toISOString());
    });

    it('a sender still re-sending an expired group reopens it', async () => {
      await store().expire(T0 + 8 * MINUTE);
      const [r] = await store().record([seedItem(SEEDS[4], T0 + 9 * MINUTE)]);
      assert.equal(r.outcome, 'redelivery');
      const g = await store().getGroup(r.groupId);
      assert.deepEqual([g?.status, g?.resolvedAt, g?.count], ['firing', null, 5]);
    });

    it('prune deletes groups last seen before the cutoff, with their dedup memory', async () => {
      assert.equal(await store().prune(T0 + 2 * MINUTE + 30_000), 2);
      assert.deepEqual((await list({})).fps, ['fp-1', 'fp-3', 'fp-2']);
      assert.equal((await store().stats(T0 + 10 * MINUTE)).total, 3);
      // The pruned key is forgotten: the same signal now starts a new group.
      const [r] = await store().record([seedItem(SEEDS[4], T0 + HOUR)]);
      assert.deepEqual([r.outcome, r.countDelta], ['new-group', 5]);
      assert.deepEqual(await store().ruleHits(), { crashloop: 3, oom: 3, dns: 5 });
    });
  });
}
