// delete-stuck-pods: force-delete (grace 0) pods of the workload stuck in Terminating. The apiserver
// sets deletionTimestamp to "deletion requested + grace period", so a pod has been Terminating longer
// than grace + threshold exactly when now > deletionTimestamp + threshold.
import { parseDuration } from '../../config/duration.ts';
import type { KubeReader, PodInfo } from '../kube.ts';
import { podsOf } from '../target.ts';
import { defineParams, readParams } from './params.ts';
import { ActionIneffectiveError, type Action, involved, skip } from './types.ts';

const DEFAULT_STUCK_THRESHOLD_MS = 5 * 60_000;
/** One action never force-deletes more than this many pods; the rest wait for the next signal. */
const MAX_PODS_PER_ACTION = 20;

const isStuck = (pod: PodInfo, now: number, thresholdMs: number): boolean =>
  pod.meta.deletionTimestamp !== null && now > pod.meta.deletionTimestamp + thresholdMs;

/** The pods (same uid) that are still there. */
async function survivingPods(kube: KubeReader, pods: PodInfo[]): Promise<PodInfo[]> {
  const left: PodInfo[] = [];
  for (const p of pods) {
    const live = await kube.getPod(p.meta.namespace, p.meta.name);
    if (live && live.meta.uid === p.meta.uid) left.push(live);
  }
  return left;
}

/** `threshold`: how long past its grace period a Terminating pod counts as stuck (default 5m). */
const STUCK_PODS_PARAMS = defineParams('delete-stuck-pods', ['threshold'], (params, report) => {
  const text = params.threshold ?? '5m';
  const ms = params.threshold === undefined ? DEFAULT_STUCK_THRESHOLD_MS : parseDuration(params.threshold);
  if (ms === null) report('threshold', `threshold must be a duration like 5m, got ${JSON.stringify(params.threshold)}`);
  return { thresholdMs: ms ?? 0, text };
});

export const deleteStuckPods: Action = {
  name: 'delete-stuck-pods',
  params: STUCK_PODS_PARAMS,
  async plan({ kube, target, params: raw, now }) {
    const w = target.workload;
    if (!w) {
      return !target.replicaSet && !target.otherController && target.pod
        ? skip('no-controller', `pod ${target.pod.meta.name} has no controller; only pods of a workload are force-deleted`)
        : skip('unsupported-workload', `${target.display} is not a Deployment, StatefulSet or DaemonSet`);
    }
    const params = readParams(STUCK_PODS_PARAMS, raw);
    if (!params.ok) return skip('invalid-params', params.message);
    const { thresholdMs } = params.value;
    const stuck = (await podsOf(kube, w)).filter((p) => isStuck(p, now, thresholdMs)).slice(0, MAX_PODS_PER_ACTION);
    if (stuck.length === 0) return skip('no-stuck-pods', `no pod of ${target.display} has been Terminating longer than its grace period + ${params.value.text}`);
    const names = stuck.map((p) => p.meta.name);
    return {
      kind: 'act',
      summary: `force-delete ${stuck.length} pod(s) of ${target.display} stuck in Terminating: ${names.join(', ')}`,
      eventOn: involved(w.kind, w.meta),
      eventType: 'Warning',
      intent: {
        targetKind: w.kind, targetName: w.meta.name, targetUid: w.meta.uid,
        expect: { kind: 'pods-deleted', pods: stuck.map((p) => ({ name: p.meta.name, uid: p.meta.uid })) },
      },
      async run(writer) {
        for (const p of stuck) {
          await writer.deletePod(p.meta.namespace, p.meta.name, { uid: p.meta.uid, resourceVersion: p.meta.resourceVersion, gracePeriodSeconds: 0 });
        }
        // The API answers 200 to a force delete it cannot complete (finalizers): what counts is
        // whether the pods are gone afterwards.
        const survivors = await survivingPods(kube, stuck);
        if (survivors.length > 0) {
          const held = survivors.map((p) => `${p.meta.name}${p.meta.finalizers?.length ? ` (finalizers: ${p.meta.finalizers.join(', ')})` : ''}`);
          throw new ActionIneffectiveError('pod-survived-delete', `${survivors.length} of ${stuck.length} pod(s) still exist after a force delete: ${held.join(', ')}`);
        }
        return `force-deleted ${stuck.length} pod(s) stuck in Terminating: ${names.join(', ')}`;
      },
    };
  },
};
