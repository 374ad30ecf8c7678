// Guessing the format of a JSON document, for `kube-sentinel rules test < payload.json`, where no route
// says what it is. The HTTP routes never guess: each calls its own adapter.
import { parseAdmissionReview } from './admission.ts';
import { parseAlertmanagerWebhook } from './alertmanager.ts';
import { parseAlerts } from './alerts.ts';
import { isRecord, typeName, type ParseResult } from './common.ts';
import { parseEvents } from './events.ts';

export const PAYLOAD_FORMATS = ['alerts', 'alertmanager', 'events', 'admission'] as const;
export type PayloadFormat = (typeof PAYLOAD_FORMATS)[number];

export interface DetectedPayload extends ParseResult {
  /** null when the document matches no format (there is then one issue at `body`). */
  format: PayloadFormat | null;
}

/** What a document looks like: the shape, not a full validation (the adapter does that). */
export function detectFormat(body: unknown): PayloadFormat | null {
  if (Array.isArray(body)) {
    // An array of Events has no `labels` at the top of its items; an empty array parses as anything.
    const first: unknown = body[0];
    return isRecord(first) && first.labels === undefined ? 'events' : 'alerts';
  }
  if (!isRecord(body)) return null;
  if (body.kind === 'AdmissionReview' || (isRecord(body.request) && body.request.uid !== undefined)) return 'admission';
  if (Array.isArray(body.alerts)) return 'alertmanager';
  return 'events';
}

export function detectAndParse(body: unknown, now: number): DetectedPayload {
  const format = detectFormat(body);
  switch (format) {
    case 'alerts':
      return { format, ...parseAlerts(body, now, 'alerts-v2') };
    case 'alertmanager':
      return { format, ...parseAlertmanagerWebhook(body, now) };
    case 'events':
      return { format, ...parseEvents(body, now) };
    case 'admission': {
      const review = parseAdmissionReview(body, now);
      return { format, signals: review.signals, issues: review.issues, total: review.total };
    }
    case null:
      return {
        format: null,
        signals: [],
        issues: [{ path: 'body', message: `is not an alert, Alertmanager, Event or AdmissionReview document (got ${typeName(body)})` }],
        total: 0,
      };
  }
}
