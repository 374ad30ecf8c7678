// Prometheus and the Loki ruler posting to the Alertmanager API (`POST /api/v2/alerts`, and the older
// `/api/v1/alerts` with the same body): a JSON array of `{labels, annotations, startsAt, endsAt,
// generatorURL}`. There is no `status`: Prometheus stamps firing alerts with an `endsAt` a few
// evaluation intervals ahead ("valid until") and re-sends them; a resolved alert carries its real end,
// which is in the past. So firing vs resolved is decided against our clock, exactly as Alertmanager does.
import type { Channel, Signal } from '../domain/types.ts';
import type { TokenAdapter } from './adapter.ts';
import { alertSignal, readAlertFields } from './alert-fields.ts';
import { IssueList, isRecord, typeName, type ParseResult } from './common.ts';

export type AlertsChannel = Extract<Channel, 'alerts-v1' | 'alerts-v2'>;

export function parseAlerts(body: unknown, now: number, channel: AlertsChannel = 'alerts-v2'): ParseResult {
  const issues = new IssueList();
  if (!Array.isArray(body)) {
    issues.add('body', `must be a JSON array of alerts, got ${typeName(body)}`);
    return { signals: [], issues: issues.toArray(), total: 0 };
  }
  const signals: Signal[] = [];
  for (let i = 0; i < body.length; i++) {
    const fields = readAlertFields(body[i], `[${i}]`, issues);
    if (fields === null) continue;
    // Alertmanager: firing while endsAt is after now; no endsAt means open-ended (resolve_timeout applies).
    const resolved = fields.endsAt !== null && fields.endsAt <= now;
    signals.push(alertSignal(fields, { channel, state: resolved ? 'resolved' : 'firing', endsAt: fields.endsAt, now }));
  }
  return { signals, issues: issues.toArray(), total: body.length };
}

export const alertsAdapter = {
  format: 'alerts',
  noun: 'an alert',
  listener: 'ingest',
  // An array whose first item is not a label-less object (an Event); an empty array parses as anything.
  recognizes: (body) => Array.isArray(body) && !(isRecord(body[0]) && body[0].labels === undefined),
  parse: (body, now, channel) => parseAlerts(body, now, channel === 'alerts-v1' ? 'alerts-v1' : 'alerts-v2'),
  routes: [{ path: '/api/v2/alerts', channel: 'alerts-v2' }, { path: '/api/v1/alerts', channel: 'alerts-v1' }],
} as const satisfies TokenAdapter;
