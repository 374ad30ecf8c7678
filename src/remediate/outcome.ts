// Outcome verification (DESIGN §6a): did the action help? Pure decisions over facts the worker reads
// after acting, with named reasons. `wait` means "not decided yet, look again before the deadline".
import type { ActionName } from '../domain/types.ts';
import type { Expectation, VerifyOutcome } from '../store/types.ts';
import type { WorkloadStatus } from './kube.ts';

export interface OutcomeFacts {
  now: number;
  /** The workload as it is now; null when the action had none or it is gone. */
  workload: { replicas: number | null; status: WorkloadStatus } | null;
  /** True when the target had a workload at all (a gone one is then a failure). */
  hadWorkload: boolean;
  /** The group's occurrence count now. */
  groupCount: number;
  /** For delete-stuck-pods: how many of the deleted pods still exist. */
  podsRemaining: number;
}

/** Actions whose effect can be checked on the cluster; others (none, webhook) get no outcome check. */
export const VERIFIED_ACTIONS: readonly ActionName[] = ['restart-pod', 'scale-up', 'scale-down', 'rollback', 'delete-stuck-pods'];

export const OUTCOME_REASONS = [
  'recovered', 'recurred', 'not-ready', 'reached', 'not-reached', 'rolled-out', 'rollout-stuck', 'pods-gone', 'pods-remain',
  'target-gone',
] as const;
export type OutcomeReason = (typeof OUTCOME_REASONS)[number];

export type OutcomeVerdict =
  | { outcome: VerifyOutcome; reason: OutcomeReason; detail: string }
  | { outcome: 'wait' };

const WAIT: OutcomeVerdict = { outcome: 'wait' };
const verdict = (outcome: VerifyOutcome, reason: OutcomeReason, detail: string): OutcomeVerdict => ({ outcome, reason, detail });

export function judgeOutcome(v: { action: ActionName; expect: Expectation; groupCount: number; deadline: number }, f: OutcomeFacts): OutcomeVerdict {
  const over = f.now >= v.deadline;
  const w = f.workload;
  if (f.hadWorkload && !w && v.action !== 'restart-pod') return verdict('ineffective', 'target-gone', 'the workload no longer exists');
  switch (v.action) {
    case 'restart-pod': {
      // Any new occurrence in the window means the restart did not cure it; success needs the whole window.
      if (f.groupCount > v.groupCount) return verdict('ineffective', 'recurred', `the problem came back: ${f.groupCount - v.groupCount} new occurrence(s) after the restart`);
      if (!over) return WAIT;
      if (!w) return verdict('effective', 'recovered', 'no new occurrence within the verification window');
      const desired = w.replicas ?? 0;
      return w.status.readyReplicas >= desired
        ? verdict('effective', 'recovered', `${w.status.readyReplicas}/${desired} replicas ready and no new occurrence`)
        : verdict('ineffective', 'not-ready', `only ${w.status.readyReplicas}/${desired} replicas ready at the end of the window`);
    }
    case 'scale-up':
    case 'scale-down': {
      const target = v.expect.kind === 'replicas' ? v.expect.after : w?.replicas ?? 0;
      const available = w?.status.availableReplicas ?? 0;
      // Scaling down is reached when no more than the new count are still available.
      const reached = v.action === 'scale-up' ? available >= target : available <= target && (w?.status.readyReplicas ?? 0) >= Math.min(target, available);
      if (reached) return verdict('effective', 'reached', `${available} replica(s) available, target ${target}`);
      return over ? verdict('ineffective', 'not-reached', `${available} replica(s) available at the end of the window, target ${target}`) : WAIT;
    }
    case 'rollback': {
      const s = w?.status;
      const desired = w?.replicas ?? 0;
      const done = s !== undefined && s.observedGeneration >= s.generation && s.updatedReplicas >= desired && s.availableReplicas >= desired;
      if (done) return verdict('effective', 'rolled-out', `rollout complete: ${s.updatedReplicas}/${desired} updated and available`);
      return over ? verdict('ineffective', 'rollout-stuck', `rollout not complete at the end of the window (${s?.updatedReplicas ?? 0}/${desired} updated, ${s?.availableReplicas ?? 0} available)`) : WAIT;
    }
    case 'delete-stuck-pods':
      if (f.podsRemaining === 0) return verdict('effective', 'pods-gone', 'the stuck pods are gone');
      return over ? verdict('ineffective', 'pods-remain', `${f.podsRemaining} stuck pod(s) still exist at the end of the window`) : WAIT;
    default:
      return verdict('effective', 'recovered', 'nothing to check');
  }
}

/** Suspend when the newest `max` checked outcomes (since the last lift) are all ineffective. */
export function shouldSuspend(newestFirst: readonly VerifyOutcome[], max: number): boolean {
  return newestFirst.length >= max && newestFirst.slice(0, max).every((o) => o === 'ineffective');
}
