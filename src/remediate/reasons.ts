// One vocabulary of reasons for "did not act": guards, target resolution, an action's verify-before-act,
// intent settling and the loop's own decisions. The audit trail, the decision metric's `reason` label
// and the dashboard (GET /api/remediation-reasons feeds its reason filter) all use these names.
import { GUARD_REASONS } from './guards.ts';
import { SETTLE_REASONS } from './intent.ts';
import { RESOLVE_REASONS } from './target.ts';

/** Named reasons an action's plan() gives for not acting (its live-state verification). */
const ACTION_SKIP_REASONS = [
  'no-action', 'no-pod', 'pod-terminating', 'no-controller', 'pod-healthy', 'unsupported-workload', 'workload-terminating',
  'invalid-params', 'at-max-replicas', 'at-min-replicas', 'no-change', 'deployment-paused', 'no-previous-revision',
  'pod-not-current-revision', 'workload-healthy', 'already-at-previous', 'no-stuck-pods', 'unknown-receiver',
] as const;
export type ActionSkipReason = (typeof ACTION_SKIP_REASONS)[number];

/** The loop's own reasons: no cluster to verify against, target vanished mid-action, suspended. */
const LOOP_REASONS = ['no-cluster', 'target-gone', 'suspended', 'approval-required', 'approval-pending', 'superseded-by-landing'] as const;

export const SKIP_REASONS = [
  ...new Set([...GUARD_REASONS, ...RESOLVE_REASONS, ...ACTION_SKIP_REASONS, ...SETTLE_REASONS, ...LOOP_REASONS]),
] as const;
export type SkipReason =
  | (typeof GUARD_REASONS)[number] | (typeof RESOLVE_REASONS)[number] | ActionSkipReason
  | (typeof SETTLE_REASONS)[number] | (typeof LOOP_REASONS)[number];
