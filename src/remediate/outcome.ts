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
type OutcomeReason = (typeof OUTCOME_REASONS)[number];

export type OutcomeVerdict =
  | { outcome: VerifyOutcome; reason: OutcomeReason; detail: string }
  | { outcome: 'wait' };

const WAIT: OutcomeVerdict = { outcome: 'wait' };
const verdict = (outcome: VerifyOutcome, reason: OutcomeReason, detail: string): OutcomeVerdict => ({ outcome, reason, detail });

type Judged = { action: ActionName; expect: Expectation; groupCount: number; deadline: number };
/** One judge per verified action; `over` is true once the verification window has passed. */
type Judge = (v: Judged, f: OutcomeFacts, over: boolean) => OutcomeVerdict;

const restartPod: Judge = (v, f, over) => {
  const w = f.workload;
  // Any new occurrence in the window means the restart did not cure it; success needs the whole window.
  if (f.groupCount > v.groupCount) return verdict('ineffective', 'recurred', `the problem came back: ${f.groupCount - v.groupCount} new occurrence(s) after the restart`);
  if (!over) return WAIT;
  if (!w) return verdict('effective', 'recovered', 'no new occurrence within the verification window');
  const desired = w.replicas ?? 0;
  return w.status.readyReplicas >= desired
    ? verdict('effective', 'recovered', `${w.status.readyReplicas}/${desired} replicas ready and no new occurrence`)
    : verdict('ineffective', 'not-ready', `only ${w.status.readyReplicas}/${desired} replicas ready at the end of the window`);
};

const scale: Judge = (v, f, over) => {
  const w = f.workload;
  const target = v.expect.kind === 'replicas' ? v.expect.after : w?.replicas ?? 0;
  const available = w?.status.availableReplicas ?? 0;
  // Scaling down is reached when no more than the new count are still available.
  const reached = v.action === 'scale-up' ? available >= target : available <= target && (w?.status.readyReplicas ?? 0) >= Math.min(target, available);
  if (reached) return verdict('effective', 'reached', `${available} replica(s) available, target ${target}`);
  return over ? verdict('ineffective', 'not-reached', `${available} replica(s) available at the end of the window, target ${target}`) : WAIT;
};

const rollback: Judge = (_v, f, over) => {
  const s = f.workload?.status;
  const desired = f.workload?.replicas ?? 0;
  const done = s !== undefined && s.observedGeneration >= s.generation && s.updatedReplicas >= desired && s.availableReplicas >= desired;
  if (done) return verdict('effective', 'rolled-out', `rollout complete: ${s.updatedReplicas}/${desired} updated and available`);
  return over ? verdict('ineffective', 'rollout-stuck', `rollout not complete at the end of the window (${s?.updatedReplicas ?? 0}/${desired} updated, ${s?.availableReplicas ?? 0} available)`) : WAIT;
};

const deleteStuckPods: Judge = (_v, f, over) => {
  if (f.podsRemaining === 0) return verdict('effective', 'pods-gone', 'the stuck pods are gone');
  return over ? verdict('ineffective', 'pods-remain', `${f.podsRemaining} stuck pod(s) still exist at the end of the window`) : WAIT;
};

const JUDGES: Partial<Record<ActionName, Judge>> = {
  'restart-pod': restartPod, 'scale-up': scale, 'scale-down': scale, rollback, 'delete-stuck-pods': deleteStuckPods,
};

/** What an outcome check watches: its group's count and the other groups' (Verification.others). */
interface Watched {
  groupCount: number;
  others: ReadonlyArray<{ groupId: number; count: number }>;
}

/** Pure: the count the check started from, over its group and the others it watches. */
export const countThen = (v: Watched): number => v.others.reduce((n, o) => n + o.count, v.groupCount);

/**
 * Pure: the same count now, from the group's count (undefined once pruned) and the others' that still
 * exist. A group gone since cannot show a recurrence: it counts as it did when the action was taken.
 */
export function countNow(v: Watched, own: number | undefined, others: ReadonlyMap<number, number>): number {
  return v.others.reduce((n, o) => n + Math.max(o.count, others.get(o.groupId) ?? o.count), own ?? v.groupCount);
}

export function judgeOutcome(v: Judged, f: OutcomeFacts): OutcomeVerdict {
  // A restart replaces pods, not the workload; for every other action a vanished workload is a failure.
  if (f.hadWorkload && !f.workload && v.action !== 'restart-pod') return verdict('ineffective', 'target-gone', 'the workload no longer exists');
  const judge = JUDGES[v.action];
  return judge ? judge(v, f, f.now >= v.deadline) : verdict('effective', 'recovered', 'nothing to check');
}

/** Suspend when the newest `max` checked outcomes (since the last lift) are all ineffective. */
export function shouldSuspend(newestFirst: readonly VerifyOutcome[], max: number): boolean {
  return newestFirst.length >= max && newestFirst.slice(0, max).every((o) => o === 'ineffective');
}
