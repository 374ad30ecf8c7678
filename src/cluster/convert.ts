// client-node model objects → the plain data of the remediation port (src/remediate/kube.ts).
// client-node deserialises metav1.Time into Date but leaves MicroTime (Lease times) as the raw string,
// so every time goes through toMillis, which accepts both.
import type {
  V1DaemonSet, V1Deployment, V1Lease, V1Namespace, V1ObjectMeta, V1Pod, V1ContainerStatus, V1ReplicaSet, V1StatefulSet,
} from '@kubernetes/client-node';
import type {
  ContainerInfo, LeaseInfo, NamespaceInfo, ObjectMeta, PodInfo, ReplicaSetInfo, WorkloadInfo, WorkloadKind,
} from '../remediate/kube.ts';

const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

function toMillis(t: unknown): number | null {
  if (t instanceof Date) return Number.isNaN(t.getTime()) ? null : t.getTime();
  if (typeof t === 'string' && t !== '') {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? null : ms;
  }
  return null;
}

/** Model instances → the JSON the API server would send (Dates become RFC 3339 strings). */
const toWire = (v: unknown): Record<string, unknown> => (v === undefined ? {} : JSON.parse(JSON.stringify(v)));

function toMeta(meta: V1ObjectMeta | undefined): ObjectMeta {
  const m = meta ?? {};
  return {
    name: m.name ?? '',
    namespace: m.namespace ?? '',
    uid: m.uid ?? '',
    resourceVersion: m.resourceVersion ?? '',
    labels: { ...m.labels },
    annotations: { ...m.annotations },
    ownerReferences: (m.ownerReferences ?? []).map((o) => ({
      apiVersion: o.apiVersion, kind: o.kind, name: o.name, uid: o.uid, controller: o.controller === true,
    })),
    deletionTimestamp: toMillis(m.deletionTimestamp),
    deletionGracePeriodSeconds: m.deletionGracePeriodSeconds ?? null,
    creationTimestamp: toMillis(m.creationTimestamp),
    finalizers: [...(m.finalizers ?? [])],
  };
}

function toContainer(s: V1ContainerStatus, init: boolean): ContainerInfo {
  return {
    name: s.name,
    init,
    ready: s.ready === true,
    restartCount: s.restartCount ?? 0,
    waiting: s.state?.waiting?.reason ?? null,
    terminated: s.state?.terminated?.reason ?? null,
    lastTerminated: s.lastState?.terminated?.reason ?? null,
  };
}

export function toPod(p: V1Pod): PodInfo {
  return {
    meta: toMeta(p.metadata),
    phase: p.status?.phase ?? '',
    ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    terminationGracePeriodSeconds: p.spec?.terminationGracePeriodSeconds ?? 30,
    containers: [
      ...(p.status?.initContainerStatuses ?? []).map((s) => toContainer(s, true)),
      ...(p.status?.containerStatuses ?? []).map((s) => toContainer(s, false)),
    ],
  };
}

export const toNamespace = (n: V1Namespace): NamespaceInfo => ({ meta: toMeta(n.metadata) });

export function toReplicaSet(rs: V1ReplicaSet): ReplicaSetInfo {
  const raw = rs.metadata?.annotations?.[REVISION_ANNOTATION];
  const revision = raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : null;
  return { meta: toMeta(rs.metadata), revision, replicas: rs.spec?.replicas ?? 0, template: toWire(rs.spec?.template) };
}

/** The status counters all three kinds share, under their two spellings of "available". */
type AnyStatus = { observedGeneration?: number; readyReplicas?: number; availableReplicas?: number; numberAvailable?: number; updatedReplicas?: number };

export function toWorkload(kind: WorkloadKind, w: V1Deployment | V1StatefulSet | V1DaemonSet): WorkloadInfo {
  const spec = w.spec as (V1Deployment['spec'] & V1StatefulSet['spec']) | undefined;
  const st: AnyStatus = w.status ?? {};
  return {
    kind,
    meta: toMeta(w.metadata),
    // The API defaults replicas to 1 for Deployments/StatefulSets; DaemonSets have none.
    replicas: kind === 'DaemonSet' ? null : spec?.replicas ?? 1,
    selector: { ...(spec?.selector?.matchLabels ?? {}) },
    template: toWire(spec?.template),
    paused: kind === 'Deployment' && (w as V1Deployment).spec?.paused === true,
    status: {
      generation: w.metadata?.generation ?? 0,
      observedGeneration: st.observedGeneration ?? 0,
      readyReplicas: st.readyReplicas ?? 0,
      availableReplicas: st.availableReplicas ?? st.numberAvailable ?? 0,
      updatedReplicas: st.updatedReplicas ?? 0,
    },
  };
}

export function toLease(l: V1Lease): LeaseInfo {
  return {
    resourceVersion: l.metadata?.resourceVersion ?? '',
    spec: {
      holderIdentity: l.spec?.holderIdentity ?? '',
      leaseDurationSeconds: l.spec?.leaseDurationSeconds ?? 0,
      acquireTime: toMillis(l.spec?.acquireTime),
      renewTime: toMillis(l.spec?.renewTime),
      leaseTransitions: l.spec?.leaseTransitions ?? 0,
    },
  };
}
