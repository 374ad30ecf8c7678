// Shared remediation requests (issue #12). A crash-looping pod raises many groups at once: one per
// alert rule that fires about it and one per distinct error line its logs print. Each wants the same
// action on the same pod, and all but the first request would only be skipped for cooldown, each with
// a claim, an audit entry and a rewrite of its group. So ingest queues one request per target, not per
// group: a group whose action is already queued for the same target, by ingest, still pending and never
// tried, shares that request (its result names it) instead of queueing another. Engine-neutral: both
// adapters look the candidates up with this SQL and decide with planRequests().
import type { RecordItem } from './types.ts';

// Migration (SQLite V12, PostgreSQL V9). Only shareable requests are in the index: a request leaves it
// when it is claimed (its first attempt), so it stays about one row per target. Same text on both engines.
export const SHARED_REQUEST_SCHEMA = `
CREATE INDEX remediation_requests_shareable ON remediation_requests (pod, namespace)
  WHERE state = 'pending' AND attempts = 0 AND force = 0 AND approved = 0 AND requested_by IS NULL;
`;

/** The terms of the index, repeated word for word so both planners can use it. */
export const SHAREABLE = `state = 'pending' AND attempts = 0 AND force = 0 AND approved = 0 AND requested_by IS NULL`;

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

/** A group of the batch that wants an action (its first and newest wanting items). */
export interface WantingGroup {
  fingerprint: string;
  /** When its first wanting item arrived: a request it creates is due from then. */
  dueAt: number;
  /** Where its newest wanting item aims. */
  target: RequestTarget;
  /** Its own pending request, when it already has one (only a group that existed before the batch can). */
  own: number | undefined;
}

export interface RequestPlan {
  /** Pending requests of the groups' own, aimed at their newest item (the crashing pod may have been replaced). */
  retarget: Array<{ id: number; target: RequestTarget }>;
  /** Requests to create, one per target that has none queued. */
  fresh: Array<{ fingerprint: string; target: RequestTarget; dueAt: number }>;
  /** Per wanting group: the id of the request it shares or retargets, or the fingerprint of the fresh one it shares. */
  requestOf: Map<string, number | { fresh: string }>;
}

/**
 * Pure: a wanting group's own pending request is retargeted to its newest item. Any other wanting group
 * shares the request queued for its target (`queued`: target key → a shareable pending request), or
 * the one an earlier group of the batch creates, or creates one. Retargets go first, so no group
 * shares a request that the same batch then aims elsewhere.
 */
export function planRequests(groups: readonly WantingGroup[], queued: ReadonlyMap<string, number>): RequestPlan {
  const plan: RequestPlan = { retarget: [], fresh: [], requestOf: new Map() };
  const byTarget = new Map<string, number | { fresh: string }>(queued);
  const keyOf = new Map([...queued].map(([key, id]) => [id, key] as const));
  for (const g of groups) {
    if (g.own === undefined) continue;
    plan.retarget.push({ id: g.own, target: g.target });
    plan.requestOf.set(g.fingerprint, g.own);
    const before = keyOf.get(g.own);
    if (before !== undefined) {
      byTarget.delete(before);
      keyOf.set(g.own, targetKey(g.target));
      byTarget.set(targetKey(g.target), g.own);
    }
  }
  for (const g of groups) {
    if (g.own !== undefined) continue;
    const key = targetKey(g.target);
    let shared = byTarget.get(key);
    if (shared === undefined) {
      plan.fresh.push({ fingerprint: g.fingerprint, target: g.target, dueAt: g.dueAt });
      byTarget.set(key, shared = { fresh: g.fingerprint });
    }
    plan.requestOf.set(g.fingerprint, shared);
  }
  return plan;
}
