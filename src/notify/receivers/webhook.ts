// Generic JSON webhook, signed: X-Kube-Sentinel-Signature: sha256=hex(HMAC-SHA256(secret,
// "<timestamp>.<body>")) with X-Kube-Sentinel-Timestamp in Unix seconds, so a receiver can reject
// forged bodies and replays older than its tolerance. X-Kube-Sentinel-Delivery is stable across
// retries of one delivery: a receiver that remembers it processes each notification once.
import { createHmac } from 'node:crypto';
import type { NotificationMessage } from '../message.ts';
import { JSON_HEADERS, type DeliveryContext, type OutboundRequest, type ReceiverSecrets } from './types.ts';

const SIGNATURE_HEADER = 'x-kube-sentinel-signature';
const TIMESTAMP_HEADER = 'x-kube-sentinel-timestamp';
const DELIVERY_HEADER = 'x-kube-sentinel-delivery';

function sign(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What one signed POST carries: the delivery id and event name go in headers next to the signature. */
export interface SignedDocument {
  document: unknown;
  id: string;
  event: string;
  now: number;
}

/** Any JSON document, signed and identified; also used by the `webhook` remediation action. */
export function signedPost(url: string, secrets: ReceiverSecrets, { document, id, event, now }: SignedDocument): OutboundRequest {
  const body = JSON.stringify(document);
  const timestamp = String(Math.floor(now / 1000));
  const headers: Record<string, string> = {
    ...JSON_HEADERS, [TIMESTAMP_HEADER]: timestamp, [DELIVERY_HEADER]: id, 'x-kube-sentinel-event': event,
  };
  if (secrets.hmacSecret) headers[SIGNATURE_HEADER] = sign(secrets.hmacSecret, timestamp, body);
  if (secrets.bearerToken) headers.authorization = `Bearer ${secrets.bearerToken}`;
  return { url, headers, body };
}

export function renderWebhook(m: NotificationMessage, secrets: ReceiverSecrets, url: string, ctx: DeliveryContext): OutboundRequest[] {
  const id = `notification-${ctx.deliveryId}`;
  return [signedPost(url, secrets, { document: { ...m, deliveryId: id }, id, event: m.kind, now: ctx.now })];
}
