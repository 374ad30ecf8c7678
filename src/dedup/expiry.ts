// When a firing group that nobody re-sends should be considered over. Senders differ: Prometheus and
// Loki stamp each alert with a "valid until" endsAt and re-send while it holds; Alertmanager's webhook
// gives no end for firing alerts and re-sends every repeat_interval; Kubernetes Events have no end at
// all and are only updated while the condition repeats.
import type { Signal } from '../domain/types.ts';

/** Alertmanager's default `resolve_timeout`, applied the same way to alerts that carry no end. */
export const ALERT_RESOLVE_TIMEOUT_MS = 5 * 60_000;
/** A Warning event not seen again for an hour is history (kubelet re-emits ongoing back-offs far more often). */
export const EVENT_QUIET_PERIOD_MS = 60 * 60_000;

export function expiresAt(signal: Pick<Signal, 'source' | 'state' | 'endsAt'>, receivedAt: number): number {
  if (signal.state === 'resolved') return receivedAt;
  if (signal.source === 'event') return receivedAt + EVENT_QUIET_PERIOD_MS;
  if (signal.endsAt === null) return receivedAt + ALERT_RESOLVE_TIMEOUT_MS;
  // An end already behind us means the sender considers it over (adapters normally mark it resolved).
  return Math.max(signal.endsAt, receivedAt);
}
