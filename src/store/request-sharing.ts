// Shared remediation requests (issue #12). A crash-looping pod raises many groups at once: one per
// alert rule that fires about it and one per distinct error line its logs print. Each wants the same
// action on the same pod, and all but the first request would only be skipped for cooldown, each with
// a claim, an audit entry and a rewrite of its group. So ingest queues one request per target, not per
// group: a group whose action is already queued for the same target, by ingest, still pending and never
// tried, shares that request (its result names it) instead of queueing another. Engine-neutral: both
// adapters look the candidates up with this SQL and decide with planRequests().
import type { RecordItem } from './types.ts';

// Migration (SQLite V12, PostgreSQL V9). `shared`: another group's occurrence shares the request, so
// its own group's next occurrence about another pod must not move it (planRequests). Only shareable
// requests are in the index: a request leaves it when it is claimed (its first attempt), so it stays
// about one row per target. Same text on both engines.
export const SHARED_REQUEST_SCHEMA = `
ALTER TABLE remediation_requests ADD COLUMN shared integer NOT NULL DEFAULT 0;
CREATE INDEX remediation_requests_shareable ON remediation_requests (pod, namespace)
  WHERE state = 'pending' AND attempts = 0 AND force = 0 AND approved = 0 AND requested_by IS NULL;
`;

/**
 * Queued by ingest (not forced, approved or asked for by a human), pending and never tried; `t` is a
 * table alias with its dot, or ''. Without one these are the index's terms word for word, so both
 * planners can use it.
 */
export const shareable = (t: string): string =>
  `${t}state = 'pending' AND ${t}attempts = 0 AND ${t}force = 0 AND ${t}approved = 0 AND ${t}requested_by IS NULL`;

export const SHAREABLE = shareable('');

/**
 * What a request is aimed at: everything its guards, plan and action read. Requests share only when
 * all of it is equal: rule, action, params (JSON), cooldown, namespace, pod, container, owner (JSON).
 */
export type RequestTarget = readonly [rule: string, action: string, params: string, cooldownMs: number,
  namespace: string, pod: string, container: string, owner: string | null];

export function targetOf(item: RecordItem): RequestTarget {
  const r = item.classification.remediation!;
  const s = item.signal;
  return [item.classification.rule ?? '', r.action, JSON.stringify(r.params), r.cooldownMs, s.namespace, s.pod,
    s.container, s.owner ? JSON.stringify(s.owner) : null];
}

export const targetKey = (t: RequestTarget): string => JSON.stringify(t);

/** The columns both adapters read of a group's own pending request (ownRequest() reads the row). */
export const OWN_COLUMNS = `id, shared, (${SHAREABLE}) AS shareable, rule, action, params, cooldown_ms, namespace, pod,
  container, owner`;

export interface OwnRow {
  id: number; shared: number; shareable: number | boolean; rule: string; action: string; params: string;
  cooldown_ms: number; namespace: string; pod: string; container: string; owner: string | null;
}

export const rowTarget = (r: Omit<OwnRow, 'id' | 'shared' | 'shareable'>): RequestTarget =>
  [r.rule, r.action, r.params, r.cooldown_ms, r.namespace, r.pod, r.container, r.owner];

export function ownRequest(r: OwnRow): OwnRequest {
  return { id: r.id, target: rowTarget(r), shared: r.shared !== 0, shareable: r.shareable === true || r.shareable === 1 };
}

/** A group's own pending request, as the batch found it. */
export interface OwnRequest {
  id: number;
  /** Where it is aimed now. */
  target: RequestTarget;
  /** Another group's occurrence shares it (the column `shared`). */
  shared: boolean;
  /** It may be shared (SHAREABLE: queued by ingest, pending, never tried). */
  shareable: boolean;
}

/** A group of the batch that wants an action (its first and newest wanting items). */
export interface WantingGroup {
  fingerprint: string;
  /** When its first wanting item arrived: a request it creates is due from then. */
  dueAt: number;
  /** Where its newest wanting item aims. */
  target: RequestTarget;
  /** Its own pending request, when it already has one (only a group that existed before the batch can). */
  own: OwnRequest | undefined;
}

/** The group's own request answers it: it has one, and no other group shares it or it stays on target. */
export function keepsOwn(g: WantingGroup): boolean {
  return g.own !== undefined && (!g.own.shared || targetKey(g.target) === targetKey(g.own.target));
}

export interface RequestPlan {
  /**
   * Pending requests of the groups' own, aimed at their newest item (the crashing pod may have been
   * replaced); `shared` when a group of this batch now shares it too. Only requests whose target changes.
   */
  retarget: Array<{ id: number; target: RequestTarget; shared: boolean }>;
  /** Requests to create, one per target that has none queued; `shared` when more than one group names it. */
  fresh: Array<{ fingerprint: string; target: RequestTarget; dueAt: number; shared: boolean }>;
  /** Queued requests that groups of this batch now share (and that are not retargeted). */
  nowShared: number[];
  /** Per wanting group: the id of the request it shares or keeps, or the fingerprint of the fresh one it names. */
  requestOf: Map<string, number | { fresh: string }>;
}

/** The request a group of the plan names; `created` gives the id of the fresh request a group created. */
export function requestIdOf(plan: RequestPlan, fingerprint: string, created: (creator: string) => number): number {
  const r = plan.requestOf.get(fingerprint)!;
  return typeof r === 'number' ? r : created(r.fresh);
}

/**
 * Pure. A wanting group's own pending request follows the group's newest item (retargeted when its
 * target changed), unless other groups share it and the target changed: then it stays where those
 * groups need it, and the group is planned as if it had none. A group without one shares the request
 * queued for its target (`queued`: target key → a shareable pending request, plus the shareable own
 * requests under their new targets), or the one an earlier group of the batch creates, or creates one.
 * Own requests go first, so no group shares a request that the same batch then aims elsewhere.
 * `marked`: queued requests already marked shared, which `nowShared` leaves out (marking is a write,
 * and on PostgreSQL a row lock that would keep the leader's claim off the request).
 */
export function planRequests(groups: readonly WantingGroup[], queued: ReadonlyMap<string, number>,
  marked: ReadonlySet<number> = new Set()): RequestPlan {
  const byTarget = new Map<string, number | { fresh: string }>(queued);
  const alreadyShared = new Set(marked);
  const keyOf = new Map([...queued].map(([key, id]) => [id, key] as const));
  const kept = new Map<number, { target: RequestTarget; moved: boolean }>();
  const requestOf = new Map<string, number | { fresh: string }>();
  const planned = new Set<string>();
  for (const g of groups) {
    const own = g.own;
    if (!own || !keepsOwn(g)) continue; // none, or left to its sharers
    const key = targetKey(g.target);
    const moved = key !== targetKey(own.target);
    kept.set(own.id, { target: g.target, moved });
    if (own.shared) alreadyShared.add(own.id);
    requestOf.set(g.fingerprint, own.id);
    planned.add(g.fingerprint);
    const before = keyOf.get(own.id);
    if (before !== undefined && byTarget.get(before) === own.id) byTarget.delete(before);
    if (own.shareable) {
      keyOf.set(own.id, key);
      byTarget.set(key, own.id);
    }
  }
  const fresh: RequestPlan['fresh'] = [];
  const sharers = new Map<number | string, number>();
  for (const g of groups) {
    if (planned.has(g.fingerprint)) continue;
    const key = targetKey(g.target);
    let shared = byTarget.get(key);
    if (shared === undefined) {
      fresh.push({ fingerprint: g.fingerprint, target: g.target, dueAt: g.dueAt, shared: false });
      byTarget.set(key, shared = { fresh: g.fingerprint });
    }
    requestOf.set(g.fingerprint, shared);
    const id = typeof shared === 'number' ? shared : shared.fresh;
    sharers.set(id, (sharers.get(id) ?? 0) + 1);
  }
  for (const f of fresh) f.shared = (sharers.get(f.fingerprint) ?? 0) > 1;
  const retarget: RequestPlan['retarget'] = [];
  for (const [id, k] of kept) if (k.moved) retarget.push({ id, target: k.target, shared: sharers.has(id) });
  const nowShared = [...sharers.keys()].filter((id): id is number => typeof id === 'number' && !kept.get(id)?.moved && !alreadyShared.has(id));
  return { retarget, fresh, nowShared, requestOf };
}
