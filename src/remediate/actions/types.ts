// An action is split in two so verification and execution cannot blur: plan() only READS the live
// state and decides (skip with a named reason, or a concrete change); run() performs that change
// through a writer that re-checks leadership before every mutating call. Dry-run stops after plan().
import type { ActionName } from '../../domain/types.ts';
import type { Expectation, RemediationRequest } from '../../store/types.ts';
import type { KubeReader, KubeWriter, NewEvent } from '../kube.ts';
import type { ParamsSchema } from './params.ts';
import type { ActionSkipReason, SkipReason } from '../reasons.ts';
import type { ResolvedTarget } from '../target.ts';
import type { WebhookPort } from './webhook.ts';

interface ActionContext {
  kube: KubeReader;
  target: ResolvedTarget;
  params: Record<string, string>;
  /** Container named by the signal ('' when none). */
  container: string;
  now: number;
  /** The request being planned, and the notifications port: only the `webhook` action reads them. */
  request?: RemediationRequest;
  webhook?: WebhookPort;
}

export type Plan =
  | { kind: 'skip'; reason: SkipReason; detail: string }
  | {
    kind: 'act';
    /** What will be done, in words: "delete pod shop/web-1 (grace 45s)". Dry-run prints "would <summary>". */
    summary: string;
    /** The object the Kubernetes Event is recorded on. */
    eventOn: NewEvent['involvedObject'];
    eventType: NewEvent['type'];
    /** What the intent log records before run() (DESIGN §6a): the object changed and the state expected. */
    intent: PlannedIntent;
    /** Performs the change; resolves to a message for the audit trail and the Event. */
    run(writer: KubeWriter): Promise<string>;
  };

interface PlannedIntent {
  targetKind: string;
  targetName: string;
  targetUid: string;
  expect: Expectation;
}

export interface Action {
  readonly name: ActionName;
  /** The params it takes, checked when the rules load and read again by plan(). */
  readonly params: ParamsSchema;
  plan(ctx: ActionContext): Promise<Plan>;
}

/**
 * The API accepted the change but the live object shows it did not take effect (a pod held by a
 * finalizer survives its force delete). Retrying cannot help: the request fails for a human to see.
 */
export class ActionIneffectiveError extends Error {
  readonly reason: string;
  readonly transient = false;
  constructor(reason: string, message: string) {
    super(message);
    this.name = 'ActionIneffectiveError';
    this.reason = reason;
  }
}

export const skip = (reason: ActionSkipReason, detail: string): Plan => ({ kind: 'skip', reason, detail });

const API_VERSION: Record<string, string> = {
  Pod: 'v1', ReplicaSet: 'apps/v1', Deployment: 'apps/v1', StatefulSet: 'apps/v1', DaemonSet: 'apps/v1',
};

export function involved(kind: string, meta: { name: string; namespace: string; uid: string }): NewEvent['involvedObject'] {
  return { apiVersion: API_VERSION[kind] ?? 'v1', kind, name: meta.name, namespace: meta.namespace, uid: meta.uid };
}

/** The Event goes on the workload when there is one (it outlives the pod), else on the pod. */
export function eventObjectFor(t: ResolvedTarget): NewEvent['involvedObject'] | null {
  if (t.workload) return involved(t.workload.kind, t.workload.meta);
  if (t.replicaSet) return involved('ReplicaSet', t.replicaSet.meta);
  if (t.pod) return involved('Pod', t.pod.meta);
  return null;
}
