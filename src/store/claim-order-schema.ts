// Migration (SQLite V8, PostgreSQL V7): the remediation claim takes the oldest due request through an
// index in that order, instead of gathering and sorting every due request on each claim. During a
// storm the queue holds thousands of pending requests, and each claim (one per request the leader
// works) cost O(backlog): 6–12 ms of the store's single writer at a few thousand pending (issue #12),
// so the remediation worker slowed ingest the longer the storm lasted. Only requests the claim can take
// are in it; a request leaves it when it is done, escalated or waiting for approval. The index of
// pending requests by next attempt served only the old claim: every queued request wrote it for
// nothing, so it goes. Same text on both engines.
import { shareable } from './request-sharing.ts';

export const CLAIM_ORDER_SCHEMA = `
CREATE INDEX remediation_requests_claim_order ON remediation_requests (created_at, id)
  WHERE state IN ('pending', 'claimed');
DROP INDEX IF EXISTS remediation_requests_pending;
`;

/**
 * The `limit` oldest requests that are due (pending and past its next attempt) or whose claim expired. `now` is
 * the engine's placeholder for the current time; the partial index is walked in order and the first
 * matches end the walk. SQLite's planner, which keeps no statistics here, preferred the (state, id)
 * index and a sort of every candidate, so it is told which index to walk.
 */
export function claimCandidates(now: string, limit: string, engine: 'sqlite' | 'postgres'): string {
  const from = engine === 'sqlite' ? 'remediation_requests INDEXED BY remediation_requests_claim_order' : 'remediation_requests';
  return `SELECT id FROM ${from} WHERE state IN ('pending', 'claimed')
      AND ((state = 'pending' AND next_attempt_at <= ${now}) OR (state = 'claimed' AND claimed_until < ${now}))
    ORDER BY created_at, id LIMIT ${limit}`;
}

/** Rows per call: at least one, at most `max` (by default 256, one commit's worth for a leader working through a storm). */
export function claimLimit(limit: number, max = 256): number {
  return Number.isInteger(limit) ? Math.min(Math.max(limit, 1), max) : 1;
}

/** The claim order (creation time, then id), for results that come back unordered. */
export function byClaimOrder(a: { createdAt: number; id: number }, b: { createdAt: number; id: number }): number {
  return a.createdAt - b.createdAt || a.id - b.id;
}

/** How far down the queue (oldest due first) a cooldown skip looks for requests alike its own. */
const ALIKE_SCAN = 4096;

/**
 * Requests a cooldown skip of request `like` (still claimed by `holder`) also decides (Store.skipAlike):
 * due, pending, never tried and with no open intent, queued by ingest (not forced, not approved), and
 * alike it in everything the guards read: rule, action, namespace, pod, container, owner and cooldown.
 * Only the ALIKE_SCAN oldest due pending requests are looked at, so the work per call is bounded.
 */
export function alikeCandidates(p: { holder: string; now: string; like: string; limit: string }, engine: 'sqlite' | 'postgres'): string {
  const from = engine === 'sqlite' ? 'remediation_requests INDEXED BY remediation_requests_claim_order' : 'remediation_requests';
  return `SELECT c.id FROM (SELECT * FROM ${from} WHERE state IN ('pending', 'claimed') AND state = 'pending'
        AND next_attempt_at <= ${p.now} ORDER BY created_at, id LIMIT ${ALIKE_SCAN}) c
      JOIN remediation_requests l ON l.id = ${p.like} AND l.claimed_by = ${p.holder}
    WHERE c.id <> l.id AND ${alike('c', 'l')}
      AND NOT EXISTS (SELECT 1 FROM remediation_intents i WHERE i.request_id = c.id AND i.state = 'open')
    ORDER BY c.created_at, c.id LIMIT ${p.limit}`;
}

/**
 * Request `r` is alike `l` and may share its cooldown skip. Checked again on the row being updated: on
 * PostgreSQL a pending request that ingest retargets meanwhile (another pod) is re-read when its lock is
 * granted, and must no longer match.
 */
export function alike(r: string, l: string): string {
  return `${shareable(`${r}.`)}
      AND ${r}.rule = ${l}.rule AND ${r}.action = ${l}.action AND ${r}.namespace = ${l}.namespace AND ${r}.pod = ${l}.pod
      AND ${r}.container = ${l}.container AND ${r}.owner IS NOT DISTINCT FROM ${l}.owner AND ${r}.cooldown_ms = ${l}.cooldown_ms`;
}
