// PagerDuty Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/): one
// event per group, dedup_key = the group fingerprint, so retries and repeats update one alert instead
// of opening new incidents. Resolved groups send `resolve`; everything else `trigger`.
import type { Priority } from '../../domain/types.ts';
import { clip, headline, kindVerb, remediationText, type NotificationMessage } from '../message.ts';
import { JSON_HEADERS, type OutboundRequest, type ReceiverSecrets } from './types.ts';

const PD_SEVERITY: Record<Priority, 'critical' | 'error' | 'warning' | 'info'> = {
  P1: 'critical', P2: 'error', P3: 'warning', P4: 'info',
};

export function renderPagerDuty(m: NotificationMessage, secrets: ReceiverSecrets, url: string): OutboundRequest[] {
  const key = secrets.routingKey;
  if (!key) throw new Error('pagerduty routing key is empty');
  const out: OutboundRequest[] = m.groups.map((g) => {
    const resolve = m.kind === 'resolved' || (m.kind !== 'firing' && g.status === 'resolved');
    const body = resolve
      ? { routing_key: key, event_action: 'resolve', dedup_key: g.fingerprint }
      : {
        routing_key: key,
        event_action: 'trigger',
        dedup_key: g.fingerprint,
        client: 'Kube Sentinel',
        ...(g.url ? { client_url: g.url, links: [{ href: g.url, text: 'Kube Sentinel error page' }] } : {}),
        payload: {
          summary: clip(`${m.kind === 'firing' ? '' : `${kindVerb(m.kind)}: `}${headline(g)} — ${g.message}`, 1024),
          source: clip([g.namespace, g.workload || g.pod].filter(Boolean).join('/') || 'kubernetes', 255),
          severity: PD_SEVERITY[g.priority],
          timestamp: g.lastSeen,
          component: g.workload || g.pod || undefined,
          group: g.namespace || undefined,
          class: g.rule ?? undefined,
          custom_details: {
            priority: g.priority, count: g.count, why: g.why, rule: g.rule, labels: g.labels, first_seen: g.firstSeen,
            ...(remediationText(g.event) ? { remediation: remediationText(g.event) } : {}),
          },
        },
      };
    return { url, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
  });
  if (m.suppressed > 0 && m.kind !== 'resolved') {
    out.push({
      url, headers: { ...JSON_HEADERS }, body: JSON.stringify({
        routing_key: key, event_action: 'trigger', dedup_key: `kube-sentinel-rate-limit-${m.route}`,
        client: 'Kube Sentinel',
        payload: {
          summary: `Kube Sentinel: ${m.suppressed} more error groups (${m.kind}) left out by the rate limit of route ${m.route}`,
          source: 'kube-sentinel', severity: m.suppressedByPriority.P1 > 0 ? 'critical' : 'warning',
          custom_details: { by_priority: m.suppressedByPriority },
        },
      }),
    });
  }
  return out;
}
