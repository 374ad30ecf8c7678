// webhook: a custom remediation (DESIGN §6b). POSTs the signal and its resolved target — the owner
// chain read through the API, never guessed — to a `webhook` notification receiver, signed like every
// webhook (X-Kube-Sentinel-Signature). It runs through every guard, approval, verify-before-act and
// the audit like any action; the receiver's 2xx is `acted`, anything else `failed`. The delivery id
// is the request's, so a retry after a crash (the intent settles as "not landed", it cannot be read
// back) reaches the receiver with the same id and the receiver can process it once.
import type { ErrorGroup, RemediationRequest } from '../../store/types.ts';
import type { ResolvedTarget } from '../target.ts';
import { defineParams, readParams } from './params.ts';
import { type Action, eventObjectFor, skip } from './types.ts';

/** What the action needs from notifications (src/notify/index.ts builds it; leadership is re-checked there). */
export interface WebhookPort {
  /** True when a `webhook` receiver of this name is configured. */
  has(receiver: string): boolean;
  /** POSTs one signed JSON document; status 0 means no answer (network error, timeout). */
  post(receiver: string, document: unknown, deliveryId: string): Promise<{ status: number; detail: string }>;
  /** The group the request came from (what the signal said), or null when pruned. */
  group(id: number): Promise<ErrorGroup | null>;
}

/** A webhook answered something other than 2xx (or nothing): audited `failed`; retried when transient. */
export class WebhookCallError extends Error {
  readonly reason: string;
  readonly transient: boolean;
  constructor(reason: string, transient: boolean, message: string) {
    super(message);
    this.name = 'WebhookCallError';
    this.reason = reason;
    this.transient = transient;
  }
}

const ref = (kind: string, meta: { name: string; uid: string }) => ({ kind, name: meta.name, uid: meta.uid });

/** The owner chain as the API showed it: pod → ReplicaSet → workload (or another controller). */
function describeTarget(t: ResolvedTarget): Record<string, unknown> {
  return {
    display: t.display,
    namespace: t.namespace,
    pod: t.pod ? ref('Pod', t.pod.meta) : null,
    replicaSet: t.replicaSet ? ref('ReplicaSet', t.replicaSet.meta) : null,
    workload: t.workload ? { ...ref(t.workload.kind, t.workload.meta), replicas: t.workload.replicas } : null,
    controller: t.otherController ? { kind: t.otherController.kind, name: t.otherController.name, uid: t.otherController.uid } : null,
  };
}

function signalOf(req: RemediationRequest, g: ErrorGroup | null): Record<string, unknown> {
  return {
    groupId: req.groupId, fingerprint: req.fingerprint, rule: req.rule, namespace: req.namespace, pod: req.pod,
    container: req.container, owner: req.owner,
    ...(g ? { priority: g.priority, title: g.title, message: g.message, labels: g.labels, count: g.count, status: g.status, firstSeen: g.firstSeen, lastSeen: g.lastSeen } : {}),
  };
}

/** `receiver`: the name of a `webhook` receiver under notifications.receivers (required). */
const WEBHOOK_PARAMS = defineParams('webhook', ['receiver'], (params, report) => {
  const receiver = params.receiver ?? '';
  if (receiver === '') report('receiver', 'the webhook action needs params.receiver: the name of a webhook receiver');
  return { receiver };
});

export const webhookAction: Action = {
  name: 'webhook',
  params: WEBHOOK_PARAMS,
  async plan({ target, params: raw, request, webhook, now }) {
    const params = readParams(WEBHOOK_PARAMS, raw);
    if (!params.ok) return skip('invalid-params', params.message);
    const { receiver } = params.value;
    if (!webhook || !request || !webhook.has(receiver)) return skip('unknown-receiver', `no webhook receiver "${receiver}" is configured under notifications.receivers`);
    const on = eventObjectFor(target);
    if (!on) return skip('no-pod', 'the signal resolved to no pod or workload to name');
    const deliveryId = `remediation-${request.id}`;
    const document = {
      version: 1, kind: 'remediation-request', deliveryId, at: new Date(now).toISOString(),
      request: { id: request.id, rule: request.rule, action: request.action, params: request.params, force: request.force, requestedBy: request.requestedBy },
      signal: signalOf(request, await webhook.group(request.groupId)),
      target: describeTarget(target),
    };
    return {
      kind: 'act',
      summary: `send ${target.display} (rule ${request.rule}) to webhook receiver ${receiver}`,
      eventOn: on,
      eventType: 'Normal',
      intent: { targetKind: on.kind, targetName: on.name, targetUid: on.uid, expect: { kind: 'webhook', receiver, deliveryId } },
      async run() {
        const r = await webhook.post(receiver, document, deliveryId);
        if (r.status >= 200 && r.status < 300) return `webhook receiver ${receiver} accepted ${target.display} (HTTP ${r.status})`;
        const transient = r.status === 0 || r.status === 408 || r.status === 429 || r.status >= 500;
        throw new WebhookCallError(r.status === 0 ? 'webhook-unreachable' : `webhook-${r.status}`, transient, `webhook receiver ${receiver}: ${r.detail}`);
      },
    };
  },
};
