// The pure half of record(): given what the database holds for a batch's groups and occurrence keys,
// decide every item in arrival order (src/dedup/decide.ts) and fold the decisions into one change per
// group and one update per key. The SQL half (record.ts) reads the inputs under lock and applies this.
// Engine-neutral: both adapters (SQLite and PostgreSQL) apply the same plan, so they agree by construction.
import { decideOccurrence } from '../dedup/decide.ts';
import type { DedupDecision, KnownOccurrence } from '../dedup/decide.ts';
import type { GroupStatus, Priority } from '../domain/types.ts';
import type { RecordItem } from './types.ts';

export interface ExistingGroup {
  id: number;
  fingerprint: string;
  status: GroupStatus;
  resolved_at: number | null;
  expires_at: number | null;
  /** Read so a priority rise can notify (src/store/outbox.ts). */
  priority?: Priority;
}

/** Everything one batch does to one group. */
export interface GroupChange {
  fingerprint: string;
  latest: RecordItem;
  countDelta: number;
  firstSeen: number;
  lastSeen: number;
  status: GroupStatus;
  resolvedAt: number | null;
  expiresAt: number | null;
}

interface KeyUpdate {
  fingerprint: string;
  key: string;
  seenCount: number;
  state: GroupStatus;
  lastSeen: number;
}

export interface BatchPlan {
  /** One per item, in input order. */
  decisions: DedupDecision[];
  /** One per fingerprint, sorted by fingerprint (the order rows are written and locked in). */
  changes: GroupChange[];
  keys: KeyUpdate[];
}

export const keyId = (fingerprint: string, key: string): string => JSON.stringify([fingerprint, key]);

/** Code-unit order, which is byte order for the ASCII digests and the "C" collation in SQL. */
const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A resolution time from the sender, but never in the future of when we heard about it. */
function resolvedAtOf(item: RecordItem): number {
  const endsAt = item.signal.endsAt;
  return endsAt !== null && Number.isFinite(endsAt) && endsAt <= item.receivedAt ? endsAt : item.receivedAt;
}

/** The item's rule has an action and it fires: whether it wants one depends on its decision. */
export function mayWantRemediation(item: RecordItem): boolean {
  const r = item.classification.remediation;
  return r !== null && r.action !== 'none' && item.signal.state === 'firing';
}

export function wantsRemediation(item: RecordItem, decision: DedupDecision): boolean {
  return mayWantRemediation(item) && decision.countDelta > 0;
}

function fold(change: GroupChange | undefined, item: RecordItem, d: DedupDecision, existing?: ExistingGroup): GroupChange {
  const c: GroupChange = change ?? {
    fingerprint: item.fingerprint,
    latest: item,
    countDelta: 0,
    firstSeen: item.receivedAt,
    lastSeen: item.receivedAt,
    // Without an effect, the group keeps what it had (a null effect implies the group exists).
    status: existing?.status ?? 'firing',
    resolvedAt: existing?.resolved_at ?? null,
    expiresAt: existing?.expires_at ?? item.expiresAt,
  };
  c.latest = item;
  c.countDelta += d.countDelta;
  c.firstSeen = Math.min(c.firstSeen, item.receivedAt);
  c.lastSeen = Math.max(c.lastSeen, item.receivedAt);
  if (d.groupStatus === 'firing') {
    c.status = 'firing';
    c.resolvedAt = null;
    c.expiresAt = item.expiresAt;
  } else if (d.groupStatus === 'resolved') {
    c.status = 'resolved';
    c.resolvedAt = resolvedAtOf(item);
  }
  return c;
}

/** Later items see earlier ones of the same batch through the in-memory maps. */
export function planBatch(
  items: readonly RecordItem[],
  existing: ReadonlyMap<string, ExistingGroup>,
  known: ReadonlyMap<string, KnownOccurrence>,
): BatchPlan {
  const keys = new Map<string, KeyUpdate>();
  const changes = new Map<string, GroupChange>();
  const decisions = items.map((item) => {
    const id = keyId(item.fingerprint, item.signal.occurrenceKey);
    const prior = keys.get(id);
    const groupExists = existing.has(item.fingerprint) || changes.has(item.fingerprint);
    const d = decideOccurrence(prior ?? known.get(id) ?? null, item.signal, groupExists);
    keys.set(id, {
      fingerprint: item.fingerprint,
      key: item.signal.occurrenceKey,
      seenCount: d.nextSeenCount,
      state: d.nextState,
      lastSeen: Math.max(prior?.lastSeen ?? item.receivedAt, item.receivedAt),
    });
    changes.set(item.fingerprint, fold(changes.get(item.fingerprint), item, d, existing.get(item.fingerprint)));
    return d;
  });
  return {
    decisions,
    changes: [...changes.values()].sort((a, b) => byCodeUnit(a.fingerprint, b.fingerprint)),
    keys: [...keys.values()],
  };
}
