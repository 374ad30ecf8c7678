// Migration (SQLite V8, PostgreSQL V7): the remediation claim takes the oldest due request through an
// index in that order, instead of gathering and sorting every due request on each claim. During a
// storm the queue holds thousands of pending requests, and each claim (one per request the leader
// works) cost O(backlog): 6–12 ms of the store's single writer at a few thousand pending (issue #12),
// so the remediation worker slowed ingest the longer the storm lasted. Only requests the claim can take
// are in it; a request leaves it when it is done, escalated or waiting for approval. The index of
// pending requests by next attempt served only the old claim: every queued request wrote it for
// nothing, so it goes. Same text on both engines.
export const CLAIM_ORDER_SCHEMA = `
CREATE INDEX remediation_requests_claim_order ON remediation_requests (created_at, id)
  WHERE state IN ('pending', 'claimed');
DROP INDEX IF EXISTS remediation_requests_pending;
`;

/**
 * The oldest request that is due (pending and past its next attempt) or whose claim expired. `now` is
 * the engine's placeholder for the current time; the partial index is walked in order and the first
 * match ends the walk. SQLite's planner, which keeps no statistics here, preferred the (state, id)
 * index and a sort of every candidate, so it is told which index to walk.
 */
export function claimCandidate(now: string, engine: 'sqlite' | 'postgres'): string {
  const from = engine === 'sqlite' ? 'remediation_requests INDEXED BY remediation_requests_claim_order' : 'remediation_requests';
  return `SELECT id FROM ${from} WHERE state IN ('pending', 'claimed')
      AND ((state = 'pending' AND next_attempt_at <= ${now}) OR (state = 'claimed' AND claimed_until < ${now}))
    ORDER BY created_at, id LIMIT 1`;
}
