// Queue remediation requests through the real store's write path (store.record), the way ingest does.
import type { ActionName, WorkloadRef } from '../../src/domain/types.ts';
import type { RecordItem, Store } from '../../src/store/types.ts';

let seq = 0;

export interface RequestSpec {
  namespace?: string;
  pod?: string;
  container?: string;
  owner?: WorkloadRef | null;
  action?: ActionName;
  params?: Record<string, string>;
  cooldownMs?: number;
  rule?: string;
  /** Same fingerprint = same group (a recurrence); default: a new group per call. */
  fingerprint?: string;
  at: number;
}

/** The item ingest records for one firing signal whose rule has an action (a new group unless `fingerprint`). */
export function requestItem(s: RequestSpec): RecordItem {
  const n = ++seq;
  const namespace = s.namespace ?? 'shop';
  return {
    fingerprint: s.fingerprint ?? `fp-${n}`,
    signal: {
      source: 'alert', channel: 'alertmanager', title: 'KubePodCrashLooping', message: 'Back-off restarting failed container',
      labels: { namespace, pod: s.pod ?? '' }, annotations: {}, namespace, pod: s.pod ?? '', container: s.container ?? '',
      owner: s.owner ?? null, reason: '', eventType: '', state: 'firing', startsAt: s.at, endsAt: null,
      occurrenceKey: `occ-${n}`, occurrenceCount: 1, alertFingerprint: null, generatorUrl: '',
    },
    classification: {
      priority: 'P1', rule: s.rule ?? 'crashloop',
      remediation: { action: s.action ?? 'restart-pod', params: s.params ?? {}, cooldownMs: s.cooldownMs ?? 300_000 },
      reason: { matched: s.rule ?? 'crashloop', tried: [] },
    },
    workload: s.owner ? `${s.owner.kind}/${s.owner.name}` : `Pod/${s.pod}`,
    normalizedMessage: 'Back-off restarting failed container',
    receivedAt: s.at,
    expiresAt: s.at + 300_000,
  };
}

/** Records one firing signal whose rule has an action; returns the queued request id. */
export async function enqueue(store: Store, s: RequestSpec): Promise<number> {
  const [r] = await store.record([requestItem(s)]);
  if (r.remediationRequestId === null) throw new Error('store did not queue a remediation request');
  return r.remediationRequestId;
}
