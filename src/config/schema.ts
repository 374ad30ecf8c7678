// config.yaml schema (snake_case, like the original). Strict: an unknown key is an error naming it.
import bytes from 'bytes';
import { z } from 'zod';
import { checkTimings } from '../leader/record.ts';
import { parseDuration } from './duration.ts';
import { notificationsSchema } from './notifications.ts';

const duration = (fallback: string) =>
  z.string().default(fallback).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: `not a duration: "${v}" (use e.g. 30s, 5m, 168h)` });
      return z.NEVER;
    }
    return ms;
  });

// Sizes mean what they mean in Express's own `limit` option: the `bytes` package, where kb and mb
// are 1024-based. The IEC spellings kib/mib name the same units. The shape is checked first because
// bytes.parse falls back to parseInt, which would read "1mib" as 1 byte and "12abc" as 12.
const SIZE = /^(\d+)\s*(b|kb|kib|mb|mib)?$/i;

/** "1mb", "512kb", "1MiB", "1048576" → bytes. */
const byteSize = (fallback: string) =>
  z.union([z.string(), z.number().int().positive()]).default(fallback).transform((v, ctx) => {
    if (typeof v === 'number') return v;
    const m = SIZE.exec(v.trim());
    const n = m === null ? null : bytes.parse(`${m[1]}${(m[2] ?? 'b').toLowerCase().replace('ib', 'b')}`);
    if (n === null) {
      ctx.addIssue({ code: 'custom', message: `not a size: "${v}" (use e.g. 1mb, 512kb)` });
      return z.NEVER;
    }
    return n;
  });

/**
 * Why a bearer token can never authenticate, or null. A client sends it in a header (Authorization:
 * Bearer <token>), which Node reads as Latin-1 and which ends at whitespace: a token with spaces or
 * characters outside visible ASCII would never match, so it is refused at load time instead.
 */
export function tokenProblem(t: string): string | null {
  if (t.length < 16) return 'tokens must be at least 16 characters';
  if (!/^[\x21-\x7e]+$/.test(t)) return 'tokens may hold only visible ASCII characters (no spaces): clients send them in an HTTP header';
  return null;
}

const token = z.string().superRefine((t, ctx) => {
  const problem = tokenProblem(t);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const tokens = z.array(token).default([]);
const optionalPath = z.string().min(1).optional();

const ROLES = ['all', 'webhook', 'dashboard'] as const;

export const configSchema = z.strictObject({
  role: z.enum(ROLES).default('all'),
  web: z.strictObject({
    listen: z.string().default('127.0.0.1:8443'),
    base_path: z.string().regex(/^(\/[A-Za-z0-9._~-]+)*$/, 'must be empty or start with / and not end with /').default(''),
    body_limit: byteSize('1mb'),
    /** Base URL of the dashboard as people reach it; notifications link to <external_url>/errors/<id>. */
    external_url: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL').transform((v) => v.replace(/\/+$/, '')).optional(),
    /**
     * host:port of the admission listener (POST /webhooks/admission only). Unset: no admission route
     * at all — the API server cannot send a token, so the route never shares the ingest port.
     */
    admission_listen: z.string().regex(/^(?:\[[^\]]+\]|[^:]*):\d{1,5}$/, 'must be host:port, e.g. :9443').optional(),
    /** Admission reviews per second per source address (burst: twice that); over it → 429. */
    admission_rate_limit: z.number().positive().max(1_000_000).default(200),
  }).prefault({}),
  tls: z.strictObject({
    cert_file: optionalPath,
    key_file: optionalPath,
    client_ca_file: optionalPath,
    /** Generate a self-signed CA + serving certificate under <data dir>/tls when no cert is given. */
    self_signed: z.boolean().default(true),
  }).prefault({}),
  auth: z.strictObject({
    ingest_tokens: tokens,
    ingest_tokens_file: optionalPath,
    read_tokens: tokens,
    read_tokens_file: optionalPath,
    admin_tokens: tokens,
    admin_tokens_file: optionalPath,
  }).prefault({}),
  store: z.strictObject({
    type: z.enum(['sqlite', 'postgres']).default('sqlite'),
    path: z.string().default('./data/kube-sentinel.db'),
    url: z.string().optional(),
    read_url: z.string().optional(),
    retention: duration('168h'),
    /** Recent occurrences kept per group (older ones are dropped; counts are kept). */
    max_occurrences: z.number().int().min(1).max(10_000).default(50),
  }).prefault({}),
  kubernetes: z.strictObject({
    /** null = auto: in-cluster when the service-account token exists, else kubeconfig, else no cluster. */
    in_cluster: z.boolean().nullable().default(null),
    kubeconfig: z.string().optional(),
  }).prefault({}),
  leader_election: z.strictObject({
    enabled: z.boolean().default(false),
    lease_name: z.string().default('kube-sentinel-leader'),
    namespace: z.string().optional(),
    lease_duration: duration('15s'),
    renew_deadline: duration('10s'),
    retry_period: duration('2s'),
  }).prefault({}).superRefine((le, ctx) => {
    const timings = { leaseDurationMs: le.lease_duration, renewDeadlineMs: le.renew_deadline, retryPeriodMs: le.retry_period };
    for (const p of checkTimings(timings)) ctx.addIssue({ code: 'custom', path: [p.key], message: p.message });
  }),
  remediation: z.strictObject({
    enabled: z.boolean().default(true),
    dry_run: z.boolean().default(true),
    max_actions_per_hour: z.number().int().min(0).default(10),
    excluded_namespaces: z.array(z.string()).default(['kube-system', 'kube-public', 'kube-node-lease']),
    max_attempts: z.number().int().min(1).default(3),
    // DESIGN §6a: how long a request waits for a human, and how many ineffective outcomes in a row
    // for one (rule, workload) suspend its auto-actions.
    approval_ttl: duration('1h'),
    max_ineffective: z.number().int().min(1).default(2),
  }).prefault({}),
  notifications: notificationsSchema,
  rules_file: z.string().optional(),
});

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
