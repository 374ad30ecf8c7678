// scale-up / scale-down: change spec.replicas of a Deployment or StatefulSet with a merge patch that
// carries the resourceVersion we read, so a concurrent change (HPA, kubectl, GitOps) makes it a 409
// and the worker retries from fresh state instead of overwriting someone else's decision.
import type { ActionName } from '../../domain/types.ts';
import type { ActionSkipReason } from '../reasons.ts';
import { defineParams, readParams, type ParamsSchema, type RawParams } from './params.ts';
import { type Action, type Plan, involved, skip } from './types.ts';

export interface ScaleParams {
  delta: number | null;
  absolute: number | null;
  min: number;
  max: number;
}

const DEFAULT_MAX_REPLICAS = 10;
/** Six digits: a replica count past that is a typo, not a plan. */
const COUNT = /^\d{1,6}$/;

/** `replicas: "+N" | "-N" | "N"` (default +1 up, -1 down), `min_replicas` (1), `max_replicas` (10). */
function scaleParams(action: 'scale-up' | 'scale-down'): ParamsSchema<ScaleParams> {
  return defineParams(action, ['replicas', 'min_replicas', 'max_replicas'], (params, report): ScaleParams => {
    const raw = (params.replicas ?? (action === 'scale-up' ? '+1' : '-1')).trim();
    const m = /^([+-]?)(\d{1,6})$/.exec(raw);
    if (!m) report('replicas', `replicas must be "+N", "-N" or "N" (N up to 999999), got ${JSON.stringify(raw)}`);
    const int = (key: string, fallback: number): number | null => {
      const v = params[key];
      if (v === undefined || v === '') return fallback;
      if (COUNT.test(v.trim())) return Number(v.trim());
      report(key, `${key} must be a non-negative integer up to 999999, got ${JSON.stringify(v)}`);
      return null;
    };
    const min = int('min_replicas', 1);
    const max = int('max_replicas', DEFAULT_MAX_REPLICAS);
    if (min !== null && max !== null && min > max) report('min_replicas', `min_replicas (${min}) is greater than max_replicas (${max})`);
    const n = Number(m?.[2] ?? 0);
    if (m?.[1] === '') return { delta: null, absolute: n, min: min ?? 0, max: max ?? 0 };
    return { delta: m?.[1] === '-' ? -n : n, absolute: null, min: min ?? 0, max: max ?? 0 };
  });
}

const SCALE_PARAMS = { 'scale-up': scaleParams('scale-up'), 'scale-down': scaleParams('scale-down') } as const;

/** The scale params, or the first problem in words. */
export function parseScaleParams(action: 'scale-up' | 'scale-down', params: RawParams): ScaleParams | string {
  const r = readParams(SCALE_PARAMS[action], params);
  return r.ok ? r.value : r.message;
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
    params: SCALE_PARAMS[name],
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
