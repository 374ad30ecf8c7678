// The closed loop's records (DESIGN §6a), part of the Store contract in types.ts: the intent a leader
// writes before a mutating call, the outcome check scheduled after it, and the suspensions that follow
// ineffective actions.
import type { ActionName } from '../domain/types.ts';

// ---- intent log (DESIGN §6a): what a leader was about to change, written before the change ----

/** What the live object must show before (not landed) and after (landed) the mutating call. */
export type Expectation =
  | { kind: 'replicas'; before: number; after: number }
  | { kind: 'template'; beforeHash: string; afterHash: string }
  /** `workload`: the display of what owns the pod (Deployment/web), named in the audit after the pod is gone. */
  | { kind: 'pod-deleted'; podName: string; podUid: string; workload?: string }
  | { kind: 'pods-deleted'; pods: Array<{ name: string; uid: string }> }
  /** The `webhook` action: a POST under a stable delivery id (it cannot be read back). */
  | { kind: 'webhook'; receiver: string; deliveryId: string };

const INTENT_STATES = ['open', 'done', 'superseded', 'skipped', 'failed'] as const;
export type IntentState = (typeof INTENT_STATES)[number];

export interface NewIntent {
  requestId: number;
  holder: string;
  action: ActionName;
  namespace: string;
  /** The object the change is made on (workload, or pod for restart-pod), e.g. Deployment/web. */
  targetKind: string;
  targetName: string;
  targetUid: string;
  expect: Expectation;
  /** The change in words, e.g. "replicas 3→4". */
  summary: string;
  at: number;
}

export interface Intent extends Omit<NewIntent, 'at'> {
  id: number;
  createdAt: number;
  state: IntentState;
  reason: string;
  settledBy: string | null;
  settledAt: number | null;
}

// ---- outcome verification and suspensions (DESIGN §6a) ----

const VERIFY_OUTCOMES = ['effective', 'ineffective'] as const;
export type VerifyOutcome = (typeof VERIFY_OUTCOMES)[number];

export interface NewVerification {
  requestId: number;
  groupId: number;
  rule: string;
  action: ActionName;
  namespace: string;
  /** Display target (as in the audit), e.g. Deployment/web. */
  target: string;
  cooldownKey: string;
  expect: Expectation;
  /** Group count when the action was taken: a rise means the problem came back. */
  groupCount: number;
  /**
   * The other groups whose rise also means the problem came back, with their counts when the action
   * was taken (restart-pod: the rule's other groups about the pod, verify.ts). Empty for other actions.
   */
  others: GroupCount[];
  actedAt: number;
  deadline: number;
}

/** A group's occurrence count at one moment. */
export interface GroupCount {
  groupId: number;
  count: number;
}

export interface Verification extends NewVerification {
  id: number;
  state: 'open' | VerifyOutcome;
}

export interface Suspension {
  id: number;
  rule: string;
  namespace: string;
  target: string;
  createdAt: string; // ISO 8601
  reason: string;
  liftedAt: string | null;
  liftedBy: string | null;
}
