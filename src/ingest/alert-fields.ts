// The part of an alert both alert formats share (Prometheus/Loki `POST /api/v{1,2}/alerts` items and
// Alertmanager webhook alerts): reading `labels`, `annotations`, `startsAt`, `endsAt`, `generatorURL`,
// and turning them into a Signal. Each adapter decides firing vs resolved its own way and passes it in.
import type { Channel, GroupStatus, Signal, WorkloadRef } from '../domain/types.ts';
import { labelsFingerprint } from '../dedup/labels-fingerprint.ts';
import type { IssueList} from './common.ts';
import { fieldPath, isRecord, readString, readStringMap, readTime, typeName } from './common.ts';

export interface AlertFields {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** null when the sender left it out (or sent Go's zero time). */
  startsAt: number | null;
  endsAt: number | null;
  generatorUrl: string;
}

/** Validate one alert object; null (with issues added under `prefix`) when it can never be valid. */
export function readAlertFields(item: unknown, prefix: string, issues: IssueList): AlertFields | null {
  if (!isRecord(item)) {
    issues.add(prefix, `must be an alert object, got ${typeName(item)}`);
    return null;
  }
  const before = issues.count;
  const labels = readStringMap(item.labels, fieldPath(prefix, 'labels'), issues, { kind: 'label', required: true });
  const annotations = readStringMap(item.annotations, fieldPath(prefix, 'annotations'), issues, {
    kind: 'annotation',
    required: false,
  });
  const startsAt = readTime(item, 'startsAt', prefix, issues);
  const endsAt = readTime(item, 'endsAt', prefix, issues);
  const generatorUrl = readString(item, 'generatorURL', prefix, issues);
  if (startsAt !== null && endsAt !== null && endsAt < startsAt) {
    issues.add(fieldPath(prefix, 'endsAt'), 'must not be before startsAt');
  }
  if (issues.count !== before || labels === null || annotations === null) return null;
  return { labels, annotations, startsAt, endsAt, generatorUrl };
}

export interface AlertSignalOptions {
  channel: Channel;
  state: GroupStatus;
  endsAt: number | null;
  now: number;
}

/** Label names that name the workload, in the order they are trusted. */
const WORKLOAD_LABELS: ReadonlyArray<readonly [label: string, kind: string]> = [
  ['deployment', 'Deployment'],
  ['statefulset', 'StatefulSet'],
  ['daemonset', 'DaemonSet'],
  ['replicaset', 'ReplicaSet'],
  ['cronjob', 'CronJob'],
  // Only `job_name` (kube-state-metrics): `job` is Prometheus' scrape-job label, not a Kubernetes Job.
  ['job_name', 'Job'],
];

/** kube-prometheus' `workload_type` values and kube-state-metrics' `owner_kind` spellings. */
const KIND_NAMES: Readonly<Record<string, string>> = {
  deployment: 'Deployment',
  statefulset: 'StatefulSet',
  daemonset: 'DaemonSet',
  replicaset: 'ReplicaSet',
  job: 'Job',
  cronjob: 'CronJob',
  replicationcontroller: 'ReplicationController',
};

function ownerRef(kind: string | undefined, name: string | undefined): WorkloadRef | null {
  // kube-state-metrics writes `<none>` for pods without an owner.
  if (!kind || !name || kind === '<none>' || name === '<none>') return null;
  return { kind: KIND_NAMES[kind.toLowerCase()] ?? kind, name };
}

/** The owner the labels state, most explicit first: mixin `workload`, kube-state-metrics owner, then per-kind labels. */
function ownerFromLabels(labels: Readonly<Record<string, string>>): WorkloadRef | null {
  const named = ownerRef(labels.workload_type, labels.workload) ?? ownerRef(labels.owner_kind, labels.owner_name);
  if (named !== null) return named;
  for (const [label, kind] of WORKLOAD_LABELS) {
    const name = labels[label];
    if (name) return { kind, name };
  }
  return null;
}

/**
 * The text rules match for an alert:
 *   `<alertname>: <summary>\n<description>\n<message>`
 * with absent or repeated annotations left out, and just `<alertname>` when there are none. The
 * alertname leads so a pattern can anchor on it; the annotations are what people wrote to explain it.
 */
function alertMessage(alertname: string, annotations: Readonly<Record<string, string>>): string {
  const parts: string[] = [];
  for (const key of ['summary', 'description', 'message']) {
    const text = annotations[key];
    if (text && !parts.includes(text)) parts.push(text);
  }
  if (parts.length === 0) return alertname;
  return alertname ? `${alertname}: ${parts.join('\n')}` : parts.join('\n');
}

function firstLine(text: string, max: number): string {
  const newline = text.indexOf('\n');
  const line = newline < 0 ? text : text.slice(0, newline);
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

export function alertSignal(fields: AlertFields, options: AlertSignalOptions): Signal {
  const { labels, annotations } = fields;
  const alertname = labels.alertname ?? '';
  const fingerprint = labelsFingerprint(labels);
  // As Alertmanager does: a missing start is the end for a resolved alert, else the time it arrived.
  const startsAt = fields.startsAt ?? fields.endsAt ?? options.now;
  // A sender that never states a start re-sends the same firing without one; keying those on arrival
  // time would count every re-send as a new occurrence.
  const occurrence = fields.startsAt === null ? 'unset' : String(fields.startsAt);
  return {
    source: 'alert',
    channel: options.channel,
    title: alertname || firstLine(annotations.summary ?? '', 200) || 'unnamed alert',
    message: alertMessage(alertname, annotations),
    labels,
    annotations,
    namespace: labels.namespace || '',
    pod: labels.pod || labels.pod_name || '',
    container: labels.container || labels.container_name || '',
    owner: ownerFromLabels(labels),
    reason: '',
    eventType: '',
    state: options.state,
    startsAt,
    endsAt: options.endsAt,
    occurrenceKey: `alert:${fingerprint}:${occurrence}`,
    occurrenceCount: 1,
    alertFingerprint: fingerprint,
    generatorUrl: fields.generatorUrl,
  };
}
