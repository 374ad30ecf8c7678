// Alertmanager POST /api/v2/alerts: each group becomes an alert whose labels carry alertname,
// priority, namespace, workload, rule and source="kube-sentinel" on top of the group's own, so the
// operator's existing routing, silences and inhibitions apply. A firing alert stays valid a little
// longer than the route's repeat_interval (reminders re-send it); a resolved one carries endsAt.
import { clip, whyText, type GroupSnapshot, type NotificationMessage } from '../message.ts';
import { JSON_HEADERS, type OutboundRequest, type ReceiverSecrets } from './types.ts';

/** Alertmanager 0.25 accepts only classic label names; anything else is rewritten, never dropped. */
export function labelName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(cleaned) ? cleaned : `_${cleaned}`;
}

const VALIDITY_MARGIN_MS = 10 * 60_000;

export function alertFor(g: GroupSnapshot, m: NotificationMessage, now: number): Record<string, unknown> {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(g.labels)) if (v !== '' && !k.startsWith('__')) labels[labelName(k)] = v;
  const own: Record<string, string> = {
    alertname: g.labels.alertname || g.title || 'KubeSentinelError',
    priority: g.priority, namespace: g.namespace, workload: g.workload, rule: g.rule ?? '', source: 'kube-sentinel',
  };
  for (const [k, v] of Object.entries(own)) {
    if (v !== '') labels[k] = v;
    else delete labels[k];
  }
  const resolved = m.kind === 'resolved' || g.status === 'resolved';
  const annotations: Record<string, string> = {
    summary: clip(g.title, 200), description: clip(g.message), why: whyText(g), count: String(g.count),
    kube_sentinel_fingerprint: g.fingerprint,
  };
  if (g.url) annotations.kube_sentinel_url = g.url;
  if (g.event.outcome) annotations.remediation = clip(`${g.event.action ?? ''} ${g.event.outcome}: ${g.event.message ?? ''}`, 300);
  return {
    labels, annotations, startsAt: g.firstSeen,
    endsAt: resolved ? (g.resolvedAt ?? new Date(now).toISOString()) : new Date(now + m.repeatMs + VALIDITY_MARGIN_MS).toISOString(),
    ...(g.url ? { generatorURL: g.url } : {}),
  };
}

export function renderAlertmanager(m: NotificationMessage, secrets: ReceiverSecrets, baseUrl: string, now: number): OutboundRequest[] {
  const alerts = m.groups.map((g) => alertFor(g, m, now));
  if (m.suppressed > 0 && m.kind !== 'resolved') {
    alerts.push({
      labels: { alertname: 'KubeSentinelNotificationsRateLimited', source: 'kube-sentinel', route: m.route },
      annotations: { summary: `${m.suppressed} more error groups (${m.kind}) left out by the rate limit of route ${m.route}` },
      startsAt: new Date(now).toISOString(), endsAt: new Date(now + VALIDITY_MARGIN_MS).toISOString(),
    });
  }
  if (alerts.length === 0) return [];
  const headers: Record<string, string> = { ...JSON_HEADERS };
  if (secrets.bearerToken) headers.authorization = `Bearer ${secrets.bearerToken}`;
  return [{ url: `${baseUrl.replace(/\/+$/, '')}/api/v2/alerts`, headers, body: JSON.stringify(alerts) }];
}
