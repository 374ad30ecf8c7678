// The Kubernetes Lease as leader election sees it (coordination.k8s.io/v1), and the three calls it
// makes. src/cluster/gateway.ts implements them; tests use the real apiserver or the fake.

export interface LeaseSpec {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: number | null;
  renewTime: number | null;
  leaseTransitions: number;
}

export interface LeaseInfo {
  resourceVersion: string;
  spec: LeaseSpec;
}

/** Optional per-call controls; `signal` lets the leader elector bound a call by its renew deadline. */
export interface CallOptions {
  signal?: AbortSignal;
  /**
   * Run synchronously at the last moment before the request is sent (after connecting); if it throws,
   * nothing is sent and the call rejects with that error. A leader uses it to re-check its lease, so a
   * process frozen between its own check and the send cannot act on a term that has ended.
   */
  guard?: () => void;
}

export interface LeaseClient {
  getLease(namespace: string, name: string, opts?: CallOptions): Promise<LeaseInfo | null>;
  createLease(namespace: string, name: string, spec: LeaseSpec, opts?: CallOptions): Promise<LeaseInfo>;
  /** Replace conditioned on resourceVersion: a stale version fails with a 409 KubeApiError. */
  updateLease(namespace: string, name: string, spec: LeaseSpec, resourceVersion: string, opts?: CallOptions): Promise<LeaseInfo>;
}
