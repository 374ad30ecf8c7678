import assert from 'node:assert/strict';
import { decideOccurrence, MAX_OCCURRENCE_COUNT, sanitizeCount } from '../../src/dedup/decide.ts';
import type { DedupDecision, IncomingOccurrence, KnownOccurrence } from '../../src/dedup/decide.ts';

interface Case {
  name: string;
  known: KnownOccurrence | null;
  incoming: IncomingOccurrence;
  groupExists: boolean;
  want: DedupDecision;
}

const firing = (occurrenceCount: number): IncomingOccurrence => ({ occurrenceCount, state: 'firing' });
const resolved = (occurrenceCount = 1): IncomingOccurrence => ({ occurrenceCount, state: 'resolved' });

const cases: Case[] = [
  {
    name: 'unknown key, unknown group: a new group counting the whole reported count',
    known: null, incoming: firing(3), groupExists: false,
    want: { outcome: 'new-group', countDelta: 3, nextSeenCount: 3, nextState: 'firing', groupStatus: 'firing' },
  },
  {
    name: 'unknown key in a known group: a new occurrence (new alert startsAt, new Event)',
    known: null, incoming: firing(1), groupExists: true,
    want: { outcome: 'new-occurrence', countDelta: 1, nextSeenCount: 1, nextState: 'firing', groupStatus: 'firing' },
  },
  {
    name: 'a firing re-delivery (Alertmanager re-send, HA duplicate, Prometheus every minute) adds nothing',
    known: { seenCount: 1, state: 'firing' }, incoming: firing(1), groupExists: true,
    want: { outcome: 'redelivery', countDelta: 0, nextSeenCount: 1, nextState: 'firing', groupStatus: 'firing' },
  },
  {
    name: 'an Event count rise adds exactly the rise',
    known: { seenCount: 4, state: 'firing' }, incoming: firing(9), groupExists: true,
    want: { outcome: 'count-increase', countDelta: 5, nextSeenCount: 9, nextState: 'firing', groupStatus: 'firing' },
  },
  {
    name: 'an older copy with a lower count arriving late is a re-delivery and keeps the higher count',
    known: { seenCount: 9, state: 'firing' }, incoming: firing(4), groupExists: true,
    want: { outcome: 'redelivery', countDelta: 0, nextSeenCount: 9, nextState: 'firing', groupStatus: 'firing' },
  },
  {
    name: 'resolution of a firing key resolves without counting',
    known: { seenCount: 1, state: 'firing' }, incoming: resolved(), groupExists: true,
    want: { outcome: 'resolved', countDelta: 0, nextSeenCount: 1, nextState: 'resolved', groupStatus: 'resolved' },
  },
  {
    name: 'resolution of a never-seen key counts once (it did happen)',
    known: null, incoming: resolved(), groupExists: false,
    want: { outcome: 'resolved', countDelta: 1, nextSeenCount: 1, nextState: 'resolved', groupStatus: 'resolved' },
  },
  {
    name: 'a never-seen resolution in a known group counts once too',
    known: null, incoming: resolved(), groupExists: true,
    want: { outcome: 'resolved', countDelta: 1, nextSeenCount: 1, nextState: 'resolved', groupStatus: 'resolved' },
  },
  {
    name: 'a firing copy of an already resolved key is stale and leaves the group alone',
    known: { seenCount: 1, state: 'resolved' }, incoming: firing(1), groupExists: true,
    want: { outcome: 'stale', countDelta: 0, nextSeenCount: 1, nextState: 'resolved', groupStatus: null },
  },
  {
    name: 'a stale firing copy never counts even with a higher count',
    known: { seenCount: 1, state: 'resolved' }, incoming: firing(7), groupExists: true,
    want: { outcome: 'stale', countDelta: 0, nextSeenCount: 7, nextState: 'resolved', groupStatus: null },
  },
  {
    name: 'a re-sent resolution is a re-delivery that cannot close a group another key reopened',
    known: { seenCount: 1, state: 'resolved' }, incoming: resolved(), groupExists: true,
    want: { outcome: 'redelivery', countDelta: 0, nextSeenCount: 1, nextState: 'resolved', groupStatus: null },
  },
  {
    name: 'a nonsense count (0, negative, NaN) still counts as one occurrence',
    known: null, incoming: firing(Number.NaN), groupExists: false,
    want: { outcome: 'new-group', countDelta: 1, nextSeenCount: 1, nextState: 'firing', groupStatus: 'firing' },
  },
];

describe('dedup/decideOccurrence', () => {
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(decideOccurrence(c.known, c.incoming, c.groupExists), c.want);
    });
  }

  it('applied in sequence, re-deliveries never inflate the total', () => {
    // One Event seen five times with counts 1,1,3,2,5 — the total must be 5, the real occurrences.
    let known: KnownOccurrence | null = null;
    let total = 0;
    for (const n of [1, 1, 3, 2, 5]) {
      const d = decideOccurrence(known, firing(n), known !== null);
      total += d.countDelta;
      known = { seenCount: d.nextSeenCount, state: d.nextState };
    }
    assert.equal(total, 5);
  });
});

describe('dedup/sanitizeCount', () => {
  it('floors fractions, clamps huge values to int32 and maps garbage to 1', () => {
    assert.equal(sanitizeCount(2.9), 2);
    assert.equal(sanitizeCount(0), 1);
    assert.equal(sanitizeCount(-5), 1);
    assert.equal(sanitizeCount(Number.POSITIVE_INFINITY), 1);
    assert.equal(sanitizeCount(1e300), MAX_OCCURRENCE_COUNT);
  });
});
