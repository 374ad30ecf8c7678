// The captured sender payloads (test/fixtures/, with the request headers they arrived with): Prometheus 2.42 /api/v2/alerts and
// Alertmanager 0.25 webhook, firing and resolved.
import { readFileSync } from 'node:fs';

export type FixtureName =
  | 'prometheus-v2-alerts.json'
  | 'prometheus-v2-alerts-resolved.json'
  | 'alertmanager-webhook.json'
  | 'alertmanager-webhook-resolved.json';

export function fixture(name: FixtureName): unknown {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));
}

/** When the firing samples were received (alertmanager-webhook.headers.json). */
export const CAPTURED_AT = Date.parse('2026-11-21T22:27:45.438Z');
