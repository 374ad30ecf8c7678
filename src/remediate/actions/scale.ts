// scale-up / scale-down: change spec.replicas of a Deployment or StatefulSet with a merge patch that
// carries the resourceVersion we read, so a concurrent change (HPA, kubectl, GitOps) makes it a 409
// and the worker retries from fresh state instead of overwriting someone else's decision.
import type { ActionName } from '../../domain/types.ts';
import type { ActionSkipReason } from '../reasons.ts';
import { type Action, type Plan, involved, skip } from './types.ts';

export interface ScaleParams {
  delta: number | null;
  absolute: number | null;
  min: number;
  max: number;
}

const DEFAULT_MAX_REPLICAS = 10;

/** `replicas: "+N" | "-N" | "N"`, `min_replicas`, `max_replicas` → numbers, or an error text. */
export function parseScaleParams(action: 'scale-up' | 'scale-down', params: Record<string, string>): ScaleParams | string {
  const raw = (params.replicas ?? (action === 'scale-up' ? '+1' : '-1')).trim();
  const m = /^([+-]?)(\d{1,6})$/.exec(raw);
  if (!m) return `replicas must be "+N", "-N" or "N", got ${JSON.stringify(raw)}`;
  const n = Number(m[2]);
  const int = (key: string, fallback: number): number | string => {
    const v = params[key];
    if (v === undefined || v === '') return fallback;
    return /^\d{1,6}$/.test(v.trim()) ? Number(v.trim()) : `${key} must be a non-negative integer, got ${JSON.stringify(v)}`;
  };
  const min = int('min_replicas', 1);
  const max = int('max_replicas', DEFAULT_MAX_REPLICAS);
  if (typeof min === 'string') return min;
  if (typeof max === 'string') return max;
  if (min > max) return `min_replicas (${min}) is greater than max_replicas (${max})`;
  if (m[1] === '') return { delta: null, absolute: n, min, max };
  return { delta: m[1] === '-' ? -n : n, absolute: null, min, max };
}

/** Pure: the replica count to set, or a named reason not to. */
export function desiredReplicas(action: 'scale-up' | 'scale-down', current: number, p: ScaleParams):
  { ok: true; replicas: number } | { ok: false; reason: ActionSkipReason; detail: string } {
  const wanted = p.absolute ?? current + (p.delta ?? 0);
  const bounded = Math.min(p.max, Math.max(p.min, wanted));
  const up = action === 'scale-up';
  if (up ? bounded > current : bounded < current) return { ok: true, replicas: bounded };
  if (bounded !== wanted) {
    return up
      ? { ok: false, reason: 'at-max-replicas', detail: `already at ${current} replicas; max_replicas is ${p.max}` }
      : { ok: false, reason: 'at-min-replicas', detail: `already at ${current} replicas; min_replicas is ${p.min}` };
  }
  return { ok: false, reason: 'no-change', detail: `${action} to ${wanted} from ${current} replicas would not ${up ? 'increase' : 'decrease'} them` };
}

function scaleAction(name: 'scale-up' | 'scale-down'): Action {
  return {
    name: name satisfies ActionName,
    async plan({ target, params }): Promise<Plan> {
      const w = target.workload;
      if (!w) {
        return !target.replicaSet && !target.otherController && target.pod
          ? skip('no-controller', `pod ${target.pod.meta.name} has no controller to scale`)
          : skip('unsupported-workload', `${target.display} is not a Deployment or StatefulSet`);
      }
      if (w.kind === 'DaemonSet') return skip('unsupported-workload', `${target.display} is a DaemonSet; it has no replica count`);
      if (w.meta.deletionTimestamp !== null) return skip('workload-terminating', `${target.display} is being deleted`);
      const p = parseScaleParams(name, params);
      if (typeof p === 'string') return skip('invalid-params', p);
      const current = w.replicas ?? 1;
      const d = desiredReplicas(name, current, p);
      if (!d.ok) return skip(d.reason, `${target.display}: ${d.detail}`);
      const kind = w.kind;
      return {
        kind: 'act',
        summary: `scale ${target.display} in ${w.meta.namespace} from ${current} to ${d.replicas} replicas`,
        eventOn: involved(kind, w.meta),
        eventType: 'Normal',
        intent: { targetKind: kind, targetName: w.meta.name, targetUid: w.meta.uid, expect: { kind: 'replicas', before: current, after: d.replicas } },
        async run(writer) {
          await writer.patchWorkload(kind, w.meta.namespace, w.meta.name, {
            metadata: { resourceVersion: w.meta.resourceVersion },
            spec: { replicas: d.replicas },
          });
          return `scaled ${target.display} from ${current} to ${d.replicas} replicas`;
        },
      };
    },
  };
}

export const scaleUp = scaleAction('scale-up');
export const scaleDown = scaleAction('scale-down');
