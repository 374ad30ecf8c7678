// Resolve what a remediation request points at THROUGH THE API: the live pod, then its controller by
// ownerReferences with matching uids (Pod → ReplicaSet → Deployment; StatefulSet; DaemonSet). Names in
// the signal only say where to start; a guessed name or a same-named replacement is never trusted.
import type { WorkloadRef } from '../domain/types.ts';
import {
  WORKLOAD_KINDS, type KubeReader, type ObjectMeta, type OwnerRef, type PodInfo, type ReplicaSetInfo, type WorkloadInfo,
  type WorkloadKind,
} from './kube.ts';

export interface ResolvedTarget {
  namespace: string;
  pod: PodInfo | null;
  /** The pod's ReplicaSet when it has one. */
  replicaSet: ReplicaSetInfo | null;
  workload: WorkloadInfo | null;
  /** A controller we do not manage (Job, Node for static pods, a bare ReplicaSet's pods…). */
  otherController: OwnerRef | null;
  /** e.g. `Deployment/web`, or `Pod/x` when the pod has no workload. */
  display: string;
}

export const RESOLVE_REASONS = ['no-target', 'pod-not-found', 'workload-not-found', 'owner-not-found'] as const;
type ResolveReason = (typeof RESOLVE_REASONS)[number];

export type Resolution =
  | { ok: true; target: ResolvedTarget }
  | { ok: false; reason: ResolveReason; detail: string };

const controllerOf = (meta: ObjectMeta): OwnerRef | null => meta.ownerReferences.find((o) => o.controller) ?? null;
export const controlledBy = (meta: ObjectMeta, uid: string): boolean => controllerOf(meta)?.uid === uid;

const isWorkloadKind = (k: string): k is WorkloadKind => (WORKLOAD_KINDS as readonly string[]).includes(k);

const displayOf = (t: Pick<ResolvedTarget, 'pod' | 'workload' | 'replicaSet'>): string =>
  t.workload ? `${t.workload.kind}/${t.workload.meta.name}`
    : t.replicaSet ? `ReplicaSet/${t.replicaSet.meta.name}`
      : t.pod ? `Pod/${t.pod.meta.name}` : '';

/** What the request names before anything is read (used when the cluster cannot be asked). */
export function signalDisplay(req: { pod: string; owner: WorkloadRef | null }): string {
  if (req.owner && req.owner.kind !== 'Pod') return `${req.owner.kind}/${req.owner.name}`;
  return req.pod ? `Pod/${req.pod}` : '';
}

async function fromReplicaSet(kube: KubeReader, namespace: string, rs: ReplicaSetInfo, pod: PodInfo | null): Promise<Resolution> {
  const ctrl = controllerOf(rs.meta);
  const partial = { namespace, pod, replicaSet: rs, otherController: null };
  if (!ctrl || ctrl.kind !== 'Deployment') {
    return { ok: true, target: { ...partial, workload: null, otherController: ctrl, display: displayOf({ pod, replicaSet: rs, workload: null }) } };
  }
  const dep = await kube.getWorkload('Deployment', namespace, ctrl.name);
  if (!dep || dep.meta.uid !== ctrl.uid) return { ok: false, reason: 'owner-not-found', detail: `Deployment ${namespace}/${ctrl.name} (uid ${ctrl.uid}) owning ${rs.meta.name} is gone` };
  return { ok: true, target: { ...partial, workload: dep, display: displayOf({ pod, replicaSet: rs, workload: dep }) } };
}

async function fromPod(kube: KubeReader, namespace: string, pod: PodInfo): Promise<Resolution> {
  const ctrl = controllerOf(pod.meta);
  const bare: ResolvedTarget = { namespace, pod, replicaSet: null, workload: null, otherController: null, display: `Pod/${pod.meta.name}` };
  if (!ctrl) return { ok: true, target: bare };
  if (ctrl.kind === 'ReplicaSet') {
    const rs = await kube.getReplicaSet(namespace, ctrl.name);
    if (!rs || rs.meta.uid !== ctrl.uid) return { ok: false, reason: 'owner-not-found', detail: `ReplicaSet ${namespace}/${ctrl.name} (uid ${ctrl.uid}) owning pod ${pod.meta.name} is gone` };
    return fromReplicaSet(kube, namespace, rs, pod);
  }
  if (isWorkloadKind(ctrl.kind)) {
    const w = await kube.getWorkload(ctrl.kind, namespace, ctrl.name);
    if (!w || w.meta.uid !== ctrl.uid) return { ok: false, reason: 'owner-not-found', detail: `${ctrl.kind} ${namespace}/${ctrl.name} (uid ${ctrl.uid}) owning pod ${pod.meta.name} is gone` };
    return { ok: true, target: { ...bare, workload: w, display: `${w.kind}/${w.meta.name}` } };
  }
  return { ok: true, target: { ...bare, otherController: ctrl } };
}

export async function resolveTarget(kube: KubeReader, req: { namespace: string; pod: string; owner: WorkloadRef | null }): Promise<Resolution> {
  const ns = req.namespace;
  if (!ns) return { ok: false, reason: 'no-target', detail: 'the signal names no namespace' };
  if (req.pod) {
    const pod = await kube.getPod(ns, req.pod);
    if (!pod) return { ok: false, reason: 'pod-not-found', detail: `pod ${ns}/${req.pod} no longer exists` };
    return fromPod(kube, ns, pod);
  }
  const owner = req.owner;
  if (owner && isWorkloadKind(owner.kind)) {
    const w = await kube.getWorkload(owner.kind, ns, owner.name);
    if (!w) return { ok: false, reason: 'workload-not-found', detail: `${owner.kind} ${ns}/${owner.name} does not exist` };
    return { ok: true, target: { namespace: ns, pod: null, replicaSet: null, workload: w, otherController: null, display: `${w.kind}/${w.meta.name}` } };
  }
  if (owner && owner.kind === 'ReplicaSet') {
    const rs = await kube.getReplicaSet(ns, owner.name);
    if (!rs) return { ok: false, reason: 'workload-not-found', detail: `ReplicaSet ${ns}/${owner.name} does not exist` };
    return fromReplicaSet(kube, ns, rs, null);
  }
  if (owner && owner.kind === 'Pod') return resolveTarget(kube, { namespace: ns, pod: owner.name, owner: null });
  return { ok: false, reason: 'no-target', detail: 'the signal names no pod or workload this action can use' };
}

/** Pods that belong to the workload by controller uid (through their ReplicaSet for Deployments). */
export async function podsOf(kube: KubeReader, w: WorkloadInfo): Promise<PodInfo[]> {
  const ns = w.meta.namespace;
  if (Object.keys(w.selector).length === 0) return [];
  const pods = await kube.listPods(ns, w.selector);
  if (w.kind !== 'Deployment') return pods.filter((p) => controlledBy(p.meta, w.meta.uid));
  const rsUids = new Set((await kube.listReplicaSets(ns, w.selector)).filter((rs) => controlledBy(rs.meta, w.meta.uid)).map((rs) => rs.meta.uid));
  return pods.filter((p) => rsUids.has(controllerOf(p.meta)?.uid ?? ''));
}
