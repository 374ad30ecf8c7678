// The receiver-neutral notification message, stored with each delivery at planning time and rendered
// per receiver (Slack, PagerDuty, Alertmanager, webhook) at send time. It is a snapshot: a retry an
// hour later still says what was true when the change happened.
import { PRIORITIES, type Priority } from '../domain/types.ts';
import type { NotifyKind } from '../store/outbox.ts';
import type { ErrorGroup } from '../store/types.ts';

/** Message text is attacker-influenced log text: keep it short in every channel. */
const MAX_TEXT = 500;

export interface GroupSnapshot {
  id: number;
  fingerprint: string;
  priority: Priority;
  title: string;
  message: string;
  namespace: string;
  workload: string;
  pod: string;
  container: string;
  rule: string | null;
  labels: Record<string, string>;
  count: number;
  status: 'firing' | 'resolved';
  firstSeen: string;
  lastSeen: string;
  resolvedAt: string | null;
  /** Why this priority, in words. */
  why: string;
  /** Link to the error page (web.external_url), or null when not configured. */
  url: string | null;
  remediation: { action: string; lastOutcome: string | null } | null;
  /** What happened: the event detail (reason `new`/`refire`/`priority-rise`/`repeat`, or the audit outcome). */
  event: Record<string, string>;
}

export interface NotificationMessage {
  version: 1;
  kind: NotifyKind;
  route: string;
  receiver: string;
  /** ISO 8601 planning time. */
  at: string;
  groups: GroupSnapshot[];
  /** Groups left out by the rate limit, by priority; they are counted, not listed. */
  suppressed: number;
  suppressedByPriority: Record<Priority, number>;
  /** The route's repeat_interval: Alertmanager alerts stay valid a little longer than this. */
  repeatMs: number;
}

export function clip(text: string, max = MAX_TEXT): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function whyText(g: Pick<ErrorGroup, 'rule' | 'priority'>): string {
  return g.rule ? `rule "${g.rule}" matched (${g.priority})` : `no rule matched (default ${g.priority})`;
}

export function snapshot(g: ErrorGroup, event: Record<string, string>, externalUrl: string | undefined): GroupSnapshot {
  return {
    id: g.id, fingerprint: g.fingerprint, priority: g.priority, title: clip(g.title, 200), message: clip(g.message),
    namespace: g.namespace, workload: g.workload, pod: g.pod, container: g.container, rule: g.rule, labels: g.labels,
    count: g.count, status: g.status, firstSeen: g.firstSeen, lastSeen: g.lastSeen, resolvedAt: g.resolvedAt,
    why: whyText(g), url: externalUrl ? `${externalUrl}/errors/${g.id}` : null,
    remediation: g.remediation, event,
  };
}

export function emptyByPriority(): Record<Priority, number> {
  return Object.fromEntries(PRIORITIES.map((p) => [p, 0])) as Record<Priority, number>;
}

/** One line naming a group for people: `[P1] KubePodCrashLooping in shop/Deployment/web`. */
export function headline(g: GroupSnapshot): string {
  const where = [g.namespace, g.workload || g.pod].filter(Boolean).join('/');
  return `[${g.priority}] ${g.title}${where ? ` in ${where}` : ''}`;
}

const VERBS: Record<NotifyKind, string> = {
  firing: 'Firing', resolved: 'Resolved', escalated: 'Needs a human', remediation: 'Remediation',
};

export function kindVerb(kind: NotifyKind): string {
  return VERBS[kind];
}

/** What the remediation detail says in words ("restart-pod acted on Deployment/web: …"). */
export function remediationText(event: Record<string, string>): string | null {
  if (!event.outcome) return null;
  const parts = [`${event.action ?? 'action'} ${event.outcome}`];
  if (event.target) parts.push(`on ${event.target}`);
  return `${parts.join(' ')}${event.message ? `: ${clip(event.message, 300)}` : ''}`;
}
