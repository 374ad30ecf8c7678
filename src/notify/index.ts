// Wires notifications from config (DESIGN §6b): compiled routes, one transport per receiver, and the
// leader-only notifier loop. The only entry point serve.ts calls.
import { notifiesAnyone, type NotificationsConfig } from '../config/notifications.ts';
import type { WebhookPort } from '../remediate/actions/webhook.ts';
import type { Store } from '../store/types.ts';
import type { Clock, Logger } from '../domain/ports.ts';
import { Notifier, type OnOutcome } from './notifier.ts';
import { compileRoutes } from './routing.ts';
import { Transport } from './transport.ts';

export interface NotificationsOptions {
  config: NotificationsConfig;
  externalUrl?: string;
  store: Store;
  leader: { readonly identity: string; isLeader(): boolean };
  logger?: Logger;
  onOutcome?: OnOutcome;
  clock?: Clock;
  pollMs?: number;
  claimMs?: number;
  /** Test hook: overrides retry timing (the policy's shape is in retry.ts). */
  retry?: { baseMs?: number; maxMs?: number };
}

/** The `webhook` remediation action's view of notifications: the webhook receivers' transport. */
export function webhookPort(o: { transport: Transport; store: Pick<Store, 'getGroup'>; now?: () => number }): WebhookPort {
  const t = o.transport;
  return {
    has: (name) => t.typeOf(name) === 'webhook',
    async post(name, document, deliveryId) {
      const r = await t.post(name, document, deliveryId, (o.now ?? Date.now)());
      return r.kind === 'response' ? { status: r.status, detail: `HTTP ${r.status}${r.body ? `: ${r.body.slice(0, 200)}` : ''}` } : { status: 0, detail: `${r.reason}: ${r.message}` };
    },
    group: (id) => o.store.getGroup(id, { occurrences: 0 }),
  };
}

export interface Notifications {
  readonly notifier: Notifier;
  readonly transport: Transport;
  start(): void;
  wake(): void;
  stop(): Promise<void>;
}

/**
 * Throws LoadError for an unreadable secret or CA file. With no receiver configured the loop still
 * runs: it consumes outbox events (no route), so configuring a receiver later does not replay a
 * week of old groups into it.
 */
export async function createNotifications(o: NotificationsOptions): Promise<Notifications> {
  const routes = compileRoutes(o.config.routes);
  const transport = await Transport.create({ receivers: o.config.receivers });
  // The longest send is a PagerDuty batch: every request may take up to twice its timeout.
  const longest = Math.max(10_000, ...o.config.receivers.map((r) => (r.slack ?? r.pagerduty ?? r.alertmanager ?? r.webhook)!.timeout));
  const configured = notifiesAnyone(o.config);
  const notifier = new Notifier({
    store: o.store, routes, config: o.config, externalUrl: o.externalUrl, deliverer: transport, leader: o.leader,
    // Without receivers every event is `no-route`: not worth a metric series.
    logger: o.logger, onOutcome: configured ? o.onOutcome : undefined, clock: o.clock, pollMs: o.pollMs,
    claimMs: o.claimMs ?? Math.max(60_000, 2 * longest * (o.config.rate_limit.max + 1)), retry: o.retry,
  });
  return {
    notifier, transport,
    start: () => notifier.start(),
    wake: () => notifier.wake(),
    async stop() {
      await notifier.stop();
      await transport.close();
    },
  };
}
