// The dedup decision (DESIGN §5): every real occurrence counts, re-deliveries never inflate the count.
// Pure: the store reads what it knows about an occurrence key, asks here, and applies the answer.
import type { GroupStatus, RecordOutcome } from '../domain/types.ts';

/** What the store already knows about one occurrence key (null when never seen). */
export interface KnownOccurrence {
  /** Highest cumulative count seen for this key (Event count / series.count; 1 for alerts). */
  seenCount: number;
  state: GroupStatus;
}

export interface IncomingOccurrence {
  occurrenceCount: number;
  state: GroupStatus;
}

export interface DedupDecision {
  outcome: RecordOutcome;
  /** How much the group's count rises. */
  countDelta: number;
  /** What to store for the key afterwards. */
  nextSeenCount: number;
  nextState: GroupStatus;
  /**
   * What this item does to the group's status: 'firing' (re)opens it, 'resolved' resolves it, null
   * leaves it alone. Kept separate from nextState because a group collects many keys: one key's late
   * re-sent resolution must not close a group another key has reopened since.
   */
  groupStatus: GroupStatus | null;
}

/**
 * Kubernetes Event counts are int32; clamping keeps an absurd or hostile count from overflowing the
 * group counter, and anything that is not a positive number still counts as one occurrence.
 */
export const MAX_OCCURRENCE_COUNT = 2_147_483_647;

export function sanitizeCount(n: number): number {
  if (!Number.isFinite(n) || n < 1) return 1;
  return Math.min(Math.floor(n), MAX_OCCURRENCE_COUNT);
}

/**
 * @param known what the store holds for the item's occurrence key, or null
 * @param groupExists whether the item's group (fingerprint) already exists, so a new key can be told
 *   apart as 'new-group' vs 'new-occurrence'
 */
export function decideOccurrence(
  known: KnownOccurrence | null,
  incoming: IncomingOccurrence,
  groupExists: boolean,
): DedupDecision {
  const count = sanitizeCount(incoming.occurrenceCount);

  if (known === null) {
    if (incoming.state === 'resolved') {
      // A resolution we never saw fire (e.g. we were down while it fired): it still happened once.
      return { outcome: 'resolved', countDelta: 1, nextSeenCount: count, nextState: 'resolved', groupStatus: 'resolved' };
    }
    return {
      outcome: groupExists ? 'new-occurrence' : 'new-group',
      countDelta: count,
      nextSeenCount: count,
      nextState: 'firing',
      groupStatus: 'firing',
    };
  }

  const seen = Math.max(known.seenCount, count);
  if (known.state === 'resolved') {
    // Already resolved: a re-sent resolution changes nothing, and a firing copy is a stale HA
    // duplicate or retry that must not reopen the group (a new firing has a new key).
    const outcome = incoming.state === 'firing' ? 'stale' : 'redelivery';
    return { outcome, countDelta: 0, nextSeenCount: seen, nextState: 'resolved', groupStatus: null };
  }

  if (incoming.state === 'resolved') {
    return { outcome: 'resolved', countDelta: 0, nextSeenCount: seen, nextState: 'resolved', groupStatus: 'resolved' };
  }
  if (count > known.seenCount) {
    return {
      outcome: 'count-increase',
      countDelta: count - known.seenCount,
      nextSeenCount: count,
      nextState: 'firing',
      groupStatus: 'firing',
    };
  }
  // Same key, same or lower count (out-of-order delivery): still firing, so the group is open.
  return { outcome: 'redelivery', countDelta: 0, nextSeenCount: seen, nextState: 'firing', groupStatus: 'firing' };
}
