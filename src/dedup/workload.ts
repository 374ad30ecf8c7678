// Which workload a signal belongs to, for grouping and display only. Remediation never uses this: it
// walks the owner chain through the API (DESIGN §6). So the rule here is "never guess": a pod name is
// shortened only when it has the exact shape a controller generates, and the kind we report is the one
// that shape proves.
import type { WorkloadRef } from '../domain/types.ts';

/**
 * Why the workload is what it is:
 * - `owner`: the payload named the owner (labels or an Event's involved object);
 * - `replicaset-hash`: a ReplicaSet owner or pod name carries a pod-template-hash, which only the
 *   Deployment controller adds, so the Deployment is `<name>`;
 * - `statefulset-ordinal`: `<name>-<ordinal>`, the StatefulSet pod naming;
 * - `pod`: a pod name with no provable shape (bare pods, DaemonSet and Job pods, whose 5-character
 *   suffix alone cannot tell us the controller kind) stays whole;
 * - `none`: nothing to go on.
 */
const WORKLOAD_BASES = ['owner', 'replicaset-hash', 'statefulset-ordinal', 'pod', 'none'] as const;
export type WorkloadBasis = (typeof WORKLOAD_BASES)[number];

export interface Workload {
  /**
   * `Kind/name`, e.g. `Deployment/web`, `Pod/standalone`; '' when unknown. One string is both the
   * grouping key (in the fingerprint material) and what people see, so the two cannot drift apart.
   */
  id: string;
  basis: WorkloadBasis;
}

// Kubernetes' rand.SafeEncodeString / rand.String alphabet: no vowels (no accidental words) and no
// look-alike characters 0, 1, 3.
const SAFE = '[bcdfghjklmnpqrstvwxz2456789]';
// `<deployment>-<pod-template-hash>-<random 5>`: the hash is a safe-encoded uint32 (10 digits at most;
// shorter than 6 is too rare to be worth the risk of a false match).
const DEPLOYMENT_POD = new RegExp(`^([a-z0-9](?:[-a-z0-9.]{0,240}[a-z0-9])?)-${SAFE}{6,10}-${SAFE}{5}$`);
const REPLICASET_NAME = new RegExp(`^([a-z0-9](?:[-a-z0-9.]{0,240}[a-z0-9])?)-${SAFE}{6,10}$`);
// Ordinals up to 999: a four-digit suffix is more often a year or a port than a replica number.
const STATEFULSET_POD = /^([a-z0-9](?:[-a-z0-9.]{0,240}[a-z0-9])?)-(?:0|[1-9]\d{0,2})$/;

const NONE: Workload = { id: '', basis: 'none' };

function make(kind: string, name: string, basis: WorkloadBasis): Workload {
  return { id: `${kind}/${name}`, basis };
}

/** Names longer than a DNS subdomain are not Kubernetes names; skip the patterns for them. */
const MAX_NAME = 253;

export function resolveWorkload(owner: WorkloadRef | null, pod: string): Workload {
  if (owner !== null && owner.kind !== '' && owner.name !== '') {
    if (owner.kind === 'ReplicaSet' && owner.name.length <= MAX_NAME) {
      const m = REPLICASET_NAME.exec(owner.name);
      if (m !== null) return make('Deployment', m[1], 'replicaset-hash');
    }
    return make(owner.kind, owner.name, 'owner');
  }
  if (pod === '') return NONE;
  if (pod.length <= MAX_NAME) {
    const deployment = DEPLOYMENT_POD.exec(pod);
    if (deployment !== null) return make('Deployment', deployment[1], 'replicaset-hash');
    const statefulSet = STATEFULSET_POD.exec(pod);
    if (statefulSet !== null) return make('StatefulSet', statefulSet[1], 'statefulset-ordinal');
  }
  return make('Pod', pod, 'pod');
}
