// The one list of ingest formats. Adding a format = one new adapter file (its parser plus an
// IngestAdapter: format name, how to recognise a document, parse, routes/channels) + one entry here.
// The HTTP routes (src/http/ingest-routes.ts) and the format guessing of `kube-sentinel rules test`
// and POST /api/rules/test (detect.ts) are both derived from this list. A new channel name also goes
// into CHANNELS (src/domain/types.ts); the typecheck points there.
//
// Order is the guessing order: the first adapter that recognises a document wins, so the more specific
// shapes come first and Events, which takes any object or array, stays last.
import { admissionAdapter } from './admission.ts';
import { alertmanagerAdapter } from './alertmanager.ts';
import { alertsAdapter } from './alerts.ts';
import { eventsAdapter } from './events.ts';

export const INGEST_ADAPTERS = [alertsAdapter, admissionAdapter, alertmanagerAdapter, eventsAdapter] as const;

export type PayloadFormat = (typeof INGEST_ADAPTERS)[number]['format'];
export const PAYLOAD_FORMATS: readonly PayloadFormat[] = INGEST_ADAPTERS.map((a) => a.format);
