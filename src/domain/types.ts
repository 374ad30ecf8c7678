// Canonical domain types. Wire formats are converted to `Signal` in src/ingest/*; nothing downstream
// sees a wire type. Times are epoch milliseconds throughout the core; the HTTP layer renders ISO 8601.

export const PRIORITIES = ['P1', 'P2', 'P3', 'P4'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** What kind of thing reported the problem: rules (`sources:`) and fingerprints use this. */
export const SOURCE_KINDS = ['alert', 'event'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** Which door it came in by (metrics label, occurrence detail). */
export const CHANNELS = ['alerts-v1', 'alerts-v2', 'alertmanager', 'events', 'admission'] as const;
export type Channel = (typeof CHANNELS)[number];

export const ACTIONS = ['none', 'restart-pod', 'scale-up', 'scale-down', 'rollback', 'delete-stuck-pods', 'webhook'] as const;
export type ActionName = (typeof ACTIONS)[number];

export const GROUP_STATUSES = ['firing', 'resolved'] as const;
export type GroupStatus = (typeof GROUP_STATUSES)[number];

export interface WorkloadRef {
  /** Owner kind when known (Deployment, StatefulSet, DaemonSet, Job, ReplicaSet, Pod…), else 'Pod'. */
  kind: string;
  name: string;
}

export interface Signal {
  source: SourceKind;
  channel: Channel;
  /** Short title: alertname for alerts, `reason` for events. */
  title: string;
  /**
   * The text rules match on, as ingest writes it: `<alertname>: <summary>\n<description>\n<message>` for
   * an alert (src/ingest/alert-fields.ts), `<type> <reason>: <message>` for an Event (src/ingest/events.ts).
   */
  message: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  namespace: string; // '' when unknown
  pod: string; // '' when unknown
  container: string; // '' when unknown
  /** Owner when the payload says so (labels like `deployment`, involvedObject kind); null otherwise. */
  owner: WorkloadRef | null;
  /** Kubernetes Event reason ('' for alerts). */
  reason: string;
  /** Kubernetes Event type, 'Warning' | 'Normal' ('' for alerts). */
  eventType: string;
  state: GroupStatus;
  startsAt: number;
  /** When the sender says it ends (resolved time, or Prometheus' "valid until"); null = open-ended. */
  endsAt: number | null;
  /** Identity of this occurrence for dedup: re-deliveries carry the same key. */
  occurrenceKey: string;
  /** Cumulative count the sender reports for this occurrence key (Event count / series.count; 1 for alerts). */
  occurrenceCount: number;
  /** Alertmanager/Prometheus label fingerprint (16 hex chars) for alerts; null for events. */
  alertFingerprint: string | null;
  generatorUrl: string;
}

/** What a rule asks remediation to do (src/remediate runs it). */
export interface RemediationSpec {
  action: ActionName;
  params: Record<string, string>;
  cooldownMs: number;
}

/** Why a signal got its priority: the matched rule, and the first failing matcher of each rule tried before it. */
export interface ClassificationReason {
  matched: string | null;
  tried: Array<{ rule: string; failed: string }>;
}

export interface Classification {
  priority: Priority;
  /** Rule name, or null when nothing matched (P4, no action). */
  rule: string | null;
  remediation: RemediationSpec | null;
  reason: ClassificationReason;
}

/** Reason of the Kubernetes Events Kube Sentinel writes on remediation targets; ingest never records them. */
export const OWN_EVENT_REASON = 'KubeSentinelRemediation';
/** Reporting component (and controller) of those Events. */
export const OWN_COMPONENT = 'kube-sentinel';

/** What happened to one item on its way into the store: a pure decision of src/dedup/decide.ts. */
const RECORD_OUTCOMES = ['new-group', 'new-occurrence', 'count-increase', 'redelivery', 'resolved', 'stale'] as const;
export type RecordOutcome = (typeof RECORD_OUTCOMES)[number];
