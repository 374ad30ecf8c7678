// What a receiver renderer produces: plain HTTP requests. Renderers are pure (message + secrets in,
// requests out), so payload shapes are unit-tested without a network.
export interface OutboundRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** Secrets read from the receiver's files for this attempt (never logged, never stored). */
export interface ReceiverSecrets {
  slackUrl?: string;
  routingKey?: string;
  bearerToken?: string;
  hmacSecret?: string;
}

/** Identifies one delivery to its receiver, so a receiver can drop a retry it already processed. */
export interface DeliveryContext {
  deliveryId: number;
  now: number;
}

export const JSON_HEADERS = { 'content-type': 'application/json', 'user-agent': 'kube-sentinel' } as const;
