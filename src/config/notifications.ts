// `notifications:` in config.yaml (DESIGN §6b). Secrets are only ever file paths: the config (a
// ConfigMap in the chart) never holds a Slack URL, routing key, bearer token or HMAC secret.
import { z } from 'zod';
import { parseDuration } from './duration.ts';

const duration = (fallback: string) =>
  z.string().default(fallback).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: `not a duration: "${v}" (use e.g. 10s, 5m, 4h)` });
      return z.NEVER;
    }
    return ms;
  });

const file = z.string().min(1);
const httpsOrHttpUrl = z.string().regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, 'must be an http(s) URL');

/** Per receiver: a custom CA for its endpoint and how long one HTTP exchange may take. */
const transport = {
  ca_file: file.optional(),
  timeout: duration('10s'),
};

const slack = z.strictObject({
  /** The incoming-webhook URL is itself the secret, so it comes from a file. */
  webhook_url_file: file,
  ...transport,
});

const pagerduty = z.strictObject({
  routing_key_file: file,
  /** Override the Events API v2 endpoint (EU region, a proxy, tests). */
  url: httpsOrHttpUrl.default('https://events.pagerduty.com/v2/enqueue'),
  ...transport,
});

const alertmanager = z.strictObject({
  /** Base URL; alerts go to <url>/api/v2/alerts. */
  url: httpsOrHttpUrl,
  bearer_token_file: file.optional(),
  ...transport,
});

const webhook = z.strictObject({
  url: httpsOrHttpUrl,
  /** Signs every body: X-Kube-Sentinel-Signature: sha256=HMAC(secret, "<timestamp>.<body>"). */
  hmac_secret_file: file.optional(),
  bearer_token_file: file.optional(),
  ...transport,
});

/**
 * Every receiver type's settings, by the key that names it under a receiver (`slack:`, …). A new
 * receiver type adds its schema here and its renderer in src/notify/receivers (RECEIVER_KINDS, which
 * the typecheck keeps in step with this table).
 */
const RECEIVER_SCHEMAS = { slack, pagerduty, alertmanager, webhook };
export type ReceiverType = keyof typeof RECEIVER_SCHEMAS;
const RECEIVER_TYPES = Object.keys(RECEIVER_SCHEMAS) as ReceiverType[];
/** The settings of one receiver type, as parsed. */
export type ReceiverSettings<T extends ReceiverType> = z.output<(typeof RECEIVER_SCHEMAS)[T]>;

const receiver = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'receiver names are 1-64 of A-Z a-z 0-9 . _ -'),
  ...(Object.fromEntries(RECEIVER_TYPES.map((t) => [t, RECEIVER_SCHEMAS[t].optional()])) as { [T in ReceiverType]: z.ZodOptional<(typeof RECEIVER_SCHEMAS)[T]> }),
}).superRefine((r, ctx) => {
  const kinds = RECEIVER_TYPES.filter((k) => r[k] !== undefined);
  if (kinds.length !== 1) ctx.addIssue({ code: 'custom', message: `a receiver needs exactly one of ${RECEIVER_TYPES.join(', ')} (found ${kinds.length})` });
});

const NOTIFY_ON = ['firing', 'escalated', 'resolved', 'remediation'] as const;

const list = z.array(z.string().min(1)).default([]);

const route = z.strictObject({
  /** Shown in the API and metrics; default `routes[i]`. */
  name: z.string().min(1).max(64).optional(),
  /** Same semantics as a rule's matchers: namespaces/rules exact or !negated, labels =, ~regex, !not. */
  match: z.strictObject({
    priorities: z.array(z.enum(['P1', 'P2', 'P3', 'P4'])).default([]),
    namespaces: list,
    rules: list,
    labels: z.record(z.string(), z.string()).default({}),
  }).prefault({}),
  receivers: z.array(z.string().min(1)).min(1, 'a route needs at least one receiver'),
  on: z.array(z.enum(NOTIFY_ON)).min(1).default(['firing', 'escalated', 'resolved', 'remediation']),
  repeat_interval: duration('4h'),
});

export const notificationsSchema = z.strictObject({
  receivers: z.array(receiver).default([]),
  routes: z.array(route).default([]),
  /** New events within this window after the first go out as one message per receiver. */
  group_wait: duration('10s'),
  /** Delivery attempts before a delivery is marked failed. */
  max_attempts: z.number().int().min(1).max(100).default(8),
  /** Per route and receiver: at most `max` groups in detail per `window`; the rest are summarised. */
  rate_limit: z.strictObject({
    max: z.number().int().min(1).default(20),
    window: duration('10m'),
  }).prefault({}),
}).prefault({}).superRefine((n, ctx) => {
  const seen = new Set<string>();
  n.receivers.forEach((r, i) => {
    if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: ['receivers', i, 'name'], message: `duplicate receiver name "${r.name}"` });
    seen.add(r.name);
  });
  n.routes.forEach((r, i) => r.receivers.forEach((name, j) => {
    if (!seen.has(name)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'receivers', j], message: `unknown receiver "${name}"` });
  }));
});

export type NotificationsConfig = z.output<typeof notificationsSchema>;
export type ReceiverConfig = NotificationsConfig['receivers'][number];
export type RouteConfig = NotificationsConfig['routes'][number];

/**
 * Whether anything could ever be told: without a receiver no outbox event is written at ingest and
 * no per-receiver outcome series is kept (src/startup.ts, src/notify/index.ts).
 */
export function notifiesAnyone(n: NotificationsConfig): boolean {
  return n.receivers.length > 0;
}
