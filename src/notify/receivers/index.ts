// The one list of receiver types. A new receiver type is: its settings schema in RECEIVER_SCHEMAS
// (src/config/notifications.ts), one renderer file here, and one entry below; the mapped type makes the
// typecheck demand the entry. The transport (../transport.ts) derives everything else from it: which
// secret files to read on each attempt, the CA and timeout, and how a message becomes requests.
import type { ReceiverConfig, ReceiverSettings, ReceiverType } from '../../config/notifications.ts';
import type { NotificationMessage } from '../message.ts';
import { renderAlertmanager } from './alertmanager.ts';
import { renderPagerDuty } from './pagerduty.ts';
import { renderSlack } from './slack.ts';
import type { DeliveryContext, OutboundRequest, ReceiverSecrets } from './types.ts';
import { renderWebhook } from './webhook.ts';

interface ReceiverKind<T extends ReceiverType> {
  /** The secret files read on every attempt (rotation needs no restart), by the secret they hold. */
  secretFiles(settings: ReceiverSettings<T>): Array<[keyof ReceiverSecrets, string | undefined]>;
  /** Pure: one message (and this attempt's secrets) to the HTTP requests that deliver it. */
  render(m: NotificationMessage, secrets: ReceiverSecrets, settings: ReceiverSettings<T>, ctx: DeliveryContext): OutboundRequest[];
}

const RECEIVER_KINDS: { [T in ReceiverType]: ReceiverKind<T> } = {
  slack: {
    secretFiles: (s) => [['slackUrl', s.webhook_url_file]],
    render: (m, secrets) => renderSlack(m, secrets),
  },
  pagerduty: {
    secretFiles: (s) => [['routingKey', s.routing_key_file]],
    render: (m, secrets, s) => renderPagerDuty(m, secrets, s.url),
  },
  alertmanager: {
    secretFiles: (s) => [['bearerToken', s.bearer_token_file]],
    render: (m, secrets, s, ctx) => renderAlertmanager(m, secrets, s.url, ctx.now),
  },
  webhook: {
    secretFiles: (s) => [['hmacSecret', s.hmac_secret_file], ['bearerToken', s.bearer_token_file]],
    render: (m, secrets, s, ctx) => renderWebhook(m, secrets, s.url, ctx),
  },
};

/** A configured receiver's type and settings (config validation guarantees exactly one type). */
export function receiverOf(r: ReceiverConfig): { type: ReceiverType; settings: ReceiverSettings<ReceiverType> } {
  const type = (Object.keys(RECEIVER_KINDS) as ReceiverType[]).find((t) => r[t] !== undefined)!;
  return { type, settings: r[type]! };
}

/** The secret files of a receiver, present ones only. */
export function secretFilesOf(r: ReceiverConfig): Array<[keyof ReceiverSecrets, string]> {
  const { type, settings } = receiverOf(r);
  return (RECEIVER_KINDS[type] as ReceiverKind<ReceiverType>).secretFiles(settings)
    .filter((e): e is [keyof ReceiverSecrets, string] => e[1] !== undefined);
}

export function renderFor(r: ReceiverConfig, m: NotificationMessage, secrets: ReceiverSecrets, ctx: DeliveryContext): OutboundRequest[] {
  const { type, settings } = receiverOf(r);
  return (RECEIVER_KINDS[type] as ReceiverKind<ReceiverType>).render(m, secrets, settings, ctx);
}
