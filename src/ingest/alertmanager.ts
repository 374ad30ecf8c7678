// Alertmanager `webhook_configs` payload (version "4"): `{version, status, receiver, groupLabels,
// commonLabels, commonAnnotations, externalURL, alerts: [...], truncatedAlerts}`. Only `alerts` matters:
// the group fields restate what each alert carries. Each alert has an explicit `status`; a firing one
// carries `endsAt: "0001-01-01T00:00:00Z"` (Go's zero time), i.e. no end.
//
// The alert's own `fingerprint` is not trusted as identity: we compute the same Prometheus label
// fingerprint ourselves, so the same alert arriving straight from Prometheus and via Alertmanager gets
// one occurrence key (tests check ours equals Alertmanager's on the captured payloads).
//
// `version` is not enforced: it has been "4" since 2016, and rejecting a future version would make
// Alertmanager drop alerts for good (it never retries a 4xx); any payload with this shape is read.
import type { GroupStatus, Signal } from '../domain/types.ts';
import type { TokenAdapter } from './adapter.ts';
import { alertSignal, readAlertFields } from './alert-fields.ts';
import { IssueList, isRecord, type ParseResult } from './common.ts';

function readStatus(item: unknown, path: string, issues: IssueList): GroupStatus | null | undefined {
  if (!isRecord(item) || item.status === undefined) return undefined;
  if (item.status === 'firing' || item.status === 'resolved') return item.status;
  issues.add(path, `must be "firing" or "resolved", got ${JSON.stringify(item.status).slice(0, 40)}`);
  return null;
}

export function parseAlertmanagerWebhook(body: unknown, now: number): ParseResult {
  const issues = new IssueList();
  if (!isRecord(body) || !Array.isArray(body.alerts)) {
    issues.add('body', 'must be an Alertmanager webhook payload: an object with an "alerts" array');
    return { signals: [], issues: issues.toArray(), total: 0 };
  }
  const alerts = body.alerts;
  const signals: Signal[] = [];
  for (let i = 0; i < alerts.length; i++) {
    const prefix = `alerts[${i}]`;
    const before = issues.count;
    const status = readStatus(alerts[i], `${prefix}.status`, issues);
    const fields = readAlertFields(alerts[i], prefix, issues);
    if (fields === null || issues.count !== before) continue;
    // Without a status (not sent by any Alertmanager version, but cheap to honour) decide like Prometheus.
    const state = status ?? (fields.endsAt !== null && fields.endsAt <= now ? 'resolved' : 'firing');
    let endsAt: number | null;
    if (state === 'resolved') endsAt = fields.endsAt ?? now;
    else endsAt = fields.endsAt !== null && fields.endsAt > now ? fields.endsAt : null;
    signals.push(alertSignal(fields, { channel: 'alertmanager', state, endsAt, now }));
  }
  return { signals, issues: issues.toArray(), total: alerts.length };
}

export const alertmanagerAdapter = {
  format: 'alertmanager',
  noun: 'Alertmanager',
  listener: 'ingest',
  recognizes: (body) => isRecord(body) && Array.isArray(body.alerts),
  parse: (body, now) => parseAlertmanagerWebhook(body, now),
  routes: [{ path: '/webhooks/alertmanager', channel: 'alertmanager' }],
} as const satisfies TokenAdapter;
