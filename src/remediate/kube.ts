// The port through which remediation sees the cluster. It lives here, not in src/cluster/, because
// inner folders never import edges: src/cluster/gateway.ts implements this interface with
// @kubernetes/client-node, tests implement it with a fake API server. Objects are plain data with
// epoch-millisecond times, so no client-library model class leaks into the decisions.
import { AppError } from '../domain/errors.ts';
import type { CallOptions, LeaseClient } from '../leader/lease.ts';

export interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  ownerReferences: OwnerRef[];
  /** When the API server will (or should have) removed the object; it already includes the grace period. */
  deletionTimestamp: number | null;
  deletionGracePeriodSeconds: number | null;
  creationTimestamp: number | null;
  /** What holds a deleted object back; absent when the reader did not report any. */
  finalizers?: string[];
}

export interface ContainerInfo {
  name: string;
  init: boolean;
  ready: boolean;
  restartCount: number;
  /** state.waiting.reason, e.g. CrashLoopBackOff. */
  waiting: string | null;
  /** state.terminated.reason. */
  terminated: string | null;
  /** lastState.terminated.reason, e.g. OOMKilled, Error. */
  lastTerminated: string | null;
}

export interface PodInfo {
  meta: ObjectMeta;
  phase: string;
  /** The Ready condition. */
  ready: boolean;
  terminationGracePeriodSeconds: number;
  containers: ContainerInfo[];
}

export interface NamespaceInfo {
  meta: ObjectMeta;
}

export interface ReplicaSetInfo {
  meta: ObjectMeta;
  /** `deployment.kubernetes.io/revision`, or null when absent/unparseable. */
  revision: number | null;
  replicas: number;
  /** spec.template as wire JSON (what a patch would send back). */
  template: Record<string, unknown>;
}

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];
const SCALABLE_KINDS = ['Deployment', 'StatefulSet'] as const;
export type ScalableKind = (typeof SCALABLE_KINDS)[number];

export interface WorkloadInfo {
  kind: WorkloadKind;
  meta: ObjectMeta;
  /** spec.replicas; null for DaemonSets. */
  replicas: number | null;
  /** spec.selector.matchLabels (matchExpressions are not needed to find candidates; ownership is checked by uid). */
  selector: Record<string, string>;
  template: Record<string, unknown>;
  paused: boolean;
  /** What the controller reports; outcome verification (DESIGN §6a) reads it. Absent fields are 0. */
  status?: WorkloadStatus;
}

export interface WorkloadStatus {
  generation: number;
  observedGeneration: number;
  readyReplicas: number;
  availableReplicas: number;
  updatedReplicas: number;
}

export interface NewEvent {
  involvedObject: { apiVersion: string; kind: string; name: string; namespace: string; uid: string };
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  at: number;
  reportingInstance: string;
}

export type { CallOptions,  LeaseInfo, LeaseSpec } from '../leader/lease.ts';

export interface KubeReader {
  getPod(namespace: string, name: string): Promise<PodInfo | null>;
  listPods(namespace: string, selector: Record<string, string>): Promise<PodInfo[]>;
  getNamespace(name: string): Promise<NamespaceInfo | null>;
  getReplicaSet(namespace: string, name: string): Promise<ReplicaSetInfo | null>;
  listReplicaSets(namespace: string, selector: Record<string, string>): Promise<ReplicaSetInfo[]>;
  getWorkload(kind: WorkloadKind, namespace: string, name: string): Promise<WorkloadInfo | null>;
}

export interface KubeWriter {
  /**
   * Deletes only the pod with this uid (a StatefulSet may have recreated one under the same name) and
   * only at the resourceVersion that was read: a late second delete of a pod already Terminating (its
   * deletionTimestamp bumped the version) is a 409, not a second deletion.
   */
  deletePod(namespace: string, name: string, opts: { uid: string; resourceVersion: string; gracePeriodSeconds: number }, call?: CallOptions): Promise<void>;
  /** JSON merge patch (RFC 7386); put metadata.resourceVersion in the patch to make it conditional. */
  patchWorkload(kind: ScalableKind, namespace: string, name: string, patch: Record<string, unknown>, call?: CallOptions): Promise<WorkloadInfo>;
  createEvent(namespace: string, event: NewEvent, call?: CallOptions): Promise<void>;
}

/** Every call Kube Sentinel makes to the Kubernetes API; src/cluster/rbac.ts lists the same set as RBAC rules. */
export interface KubeGateway extends KubeReader, KubeWriter, LeaseClient {}

/**
 * A failed API call. `status` is the HTTP status, 0 when no response arrived (network error, timeout).
 * It is internal (never rendered to HTTP clients), hence the catalogue's `internal` code.
 */
export class KubeApiError extends AppError {
  readonly apiStatus: number;
  readonly apiReason: string;
  constructor(opts: { status: number; reason: string; message: string }) {
    super('internal', opts.message);
    this.name = 'KubeApiError';
    this.apiStatus = opts.status;
    this.apiReason = opts.reason;
  }
  /** Worth retrying: the same call may succeed later (client-go treats these the same way). */
  get transient(): boolean {
    const s = this.apiStatus;
    return s === 0 || s === 409 || s === 429 || s >= 500;
  }
}

export const isKubeApiError = (e: unknown): e is KubeApiError => e instanceof KubeApiError;
