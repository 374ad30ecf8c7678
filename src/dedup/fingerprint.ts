// The group key: which stored error group a signal belongs to. Key = source kind + namespace +
// workload + container + rule + a normalised description of what went wrong (DESIGN §5).
//
// What "what went wrong" is differs by source:
// - Events: the event text (`Warning BackOff: …`) normalised — timestamps, ids, addresses, long numbers
//   and the pod's own name masked — so sibling pods and repeats land in one group.
// - Alerts: the alertname and the label set, NOT the annotation text. Annotations are templates over
//   `$value` ("restarted 7 times", "93.4% full"): keying on them would split one alert into a new group
//   whenever the value changed, and masking only long numbers (as for log text) would not stop that.
//   The labels are what Prometheus itself uses as the alert's identity, so they are the stable part.
//   Labels already in the key (namespace, pod, container) and per-instance noise are left out, and each
//   value is normalised like message text, so `instance="10.1.2.3:8080"` of every replica reads `<ip>`.
import { hash } from 'node:crypto';
import type { Signal } from '../domain/types.ts';
import { normalizeMessage } from './normalize.ts';
import { sortedKeys } from './sorted-keys.ts';
import { resolveWorkload } from './workload.ts';

export interface GroupKey {
  /** 32 hex chars (the first 128 bits of a SHA-256). */
  fingerprint: string;
  /** What the fingerprint saw besides the structured fields; stored and shown on the dashboard. */
  normalizedMessage: string;
  /** Display form of the workload (`Deployment/web`, `Pod/standalone`, '' when unknown). */
  workload: string;
}

/** Labels left out of an alert's identity: covered by other key parts, or different on every replica. */
const ALERT_LABELS_NOT_IN_IDENTITY = new Set([
  'alertname', // leads the identity string
  'namespace',
  'pod',
  'pod_name',
  'container',
  'container_name',
  'pod_ip',
  'uid',
  'container_id',
  'image_id',
  'id',
  // HA Prometheus pairs that forgot to drop their replica label: one problem, not two.
  'prometheus_replica',
]);

/** `alertname{label="value",…}` over the identity labels in sorted order, values normalised. */
export function alertIdentity(signal: Pick<Signal, 'labels' | 'title' | 'pod'>): string {
  const parts: string[] = [];
  for (const name of sortedKeys(signal.labels)) {
    if (ALERT_LABELS_NOT_IN_IDENTITY.has(name)) continue;
    parts.push(`${name}=${JSON.stringify(normalizeMessage(signal.labels[name], signal.pod))}`);
  }
  const head = signal.labels.alertname ?? signal.title;
  return `${head}{${parts.join(',')}}`;
}

export function groupFingerprint(signal: Signal, rule: string | null): GroupKey {
  const workload = resolveWorkload(signal.owner, signal.pod);
  const normalizedMessage =
    signal.source === 'alert' ? alertIdentity(signal) : normalizeMessage(signal.message, signal.pod);
  // JSON encoding keeps the fields apart whatever characters the (untrusted) values contain.
  const material = JSON.stringify([signal.source, signal.namespace, workload.id, signal.container, rule ?? '', normalizedMessage]);
  const fingerprint = hash('sha256', material, 'hex').slice(0, 32);
  return { fingerprint, normalizedMessage, workload: workload.id };
}
