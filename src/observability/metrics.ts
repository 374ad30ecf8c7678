// Prometheus metrics on an injected registry (never prom-client's global one, so several apps can
// live in one process — the tests do exactly that).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PRIORITIES } from '../domain/types.ts';

export interface MetricsOptions {
  registry?: Registry;
  /** Process metrics (CPU, RSS, event loop lag); off in tests to keep them cheap. */
  defaultMetrics?: boolean;
  /** Called on scrape: notAfter of the serving certificate in epoch ms, or null when unknown. */
  certificateExpiry?: () => number | null;
  /** Called on scrape: resolves when the store answers (kube_sentinel_store_up). */
  storePing?: () => Promise<void>;
  /** Called on scrape to report group counts by priority and status. */
  groupCounts?: () => Promise<{ firingByPriority: Record<string, number>; byPriority: Record<string, number> }>;
}

export class Metrics {
  readonly registry: Registry;
  readonly ingestSignals: Counter<'channel' | 'outcome'>;
  readonly httpDuration: Histogram<'route' | 'method' | 'code'>;
  readonly rulesReloads: Counter<'result'>;
  readonly rulesLoaded: Gauge;
  readonly tlsReloads: Counter<'result'>;
  readonly storeBatchSize: Histogram;
  readonly storeCommitSeconds: Histogram;
  readonly storeErrors: Counter;
  readonly remediationDecisions: Counter<'action' | 'outcome' | 'reason'>;
  readonly remediationOutcomes: Counter<'action' | 'outcome'>;
  readonly leader: Gauge;
  readonly groups: Gauge<'priority' | 'status'>;
  readonly notifications: Counter<'receiver' | 'outcome'>;
  readonly tlsCertExpiry: Gauge;
  readonly storeUp: Gauge;

  constructor(opts: MetricsOptions = {}) {
    const registers = [opts.registry ?? new Registry()];
    this.registry = registers[0];
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    this.ingestSignals = new Counter({
      name: 'kube_sentinel_ingest_signals_total', registers,
      help: 'Signals received, by ingest channel and dedup outcome (new-group, new-occurrence, redelivery, invalid, …).',
      labelNames: ['channel', 'outcome'],
    });
    this.httpDuration = new Histogram({
      name: 'kube_sentinel_http_request_duration_seconds', registers,
      help: 'HTTP request latency by route template, method and status code.',
      labelNames: ['route', 'method', 'code'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    });
    this.rulesReloads = new Counter({
      name: 'kube_sentinel_rules_reloads_total', registers,
      help: 'Rule file reloads; result="failure" means the last good rule set was kept.', labelNames: ['result'],
    });
    this.rulesLoaded = new Gauge({ name: 'kube_sentinel_rules_loaded', help: 'Rules in the active rule set.', registers });
    this.tlsReloads = new Counter({
      name: 'kube_sentinel_tls_reloads_total', registers,
      help: 'Serving certificate reloads; result="failure" means the pair in service was kept.', labelNames: ['result'],
    });
    this.storeBatchSize = new Histogram({
      name: 'kube_sentinel_store_batch_items', help: 'Items per group-commit batch.', registers,
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    });
    this.storeCommitSeconds = new Histogram({
      name: 'kube_sentinel_store_commit_seconds', help: 'Time to commit one batch.', registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    });
    this.storeErrors = new Counter({ name: 'kube_sentinel_store_errors_total', help: 'Batches the store failed to commit.', registers });
    this.remediationOutcomes = new Counter({
      name: 'kube_sentinel_remediation_outcomes_total', registers,
      help: 'Checked outcomes of remediation actions (DESIGN §6a) by action and outcome (effective, ineffective).',
      labelNames: ['action', 'outcome'],
    });
    this.remediationDecisions = new Counter({
      name: 'kube_sentinel_remediation_decisions_total', registers,
      help: 'Remediation decisions by action, outcome (acted, dry-run, skipped, failed, escalated) and reason.',
      labelNames: ['action', 'outcome', 'reason'],
    });
    this.leader = new Gauge({ name: 'kube_sentinel_leader', help: '1 while this process holds the remediation Lease.', registers });
    this.notifications = new Counter({
      name: 'kube_sentinel_notifications_total', registers,
      help: 'Notification outcomes per receiver: sent, retried, failed (given up), and groups left out (rate-limited, repeat-interval, never-notified, no-route, group-gone).',
      labelNames: ['receiver', 'outcome'],
    });
    const storePing = opts.storePing;
    this.storeUp = new Gauge({
      name: 'kube_sentinel_store_up', registers,
      help: '1 when the store answered a ping during this scrape, 0 when it did not (within 2 s).',
      async collect() {
        if (!storePing) return;
        const timeout = new Promise<never>((_, reject) => { setTimeout(() => reject(new Error('timeout')), 2000).unref(); });
        try {
          await Promise.race([storePing(), timeout]);
          this.set(1);
        } catch {
          this.set(0);
        }
      },
    });
    const certificateExpiry = opts.certificateExpiry;
    this.tlsCertExpiry = new Gauge({
      name: 'kube_sentinel_tls_certificate_expiry_timestamp_seconds', registers,
      help: 'When the serving certificate in use expires (Unix seconds).',
      collect() {
        try {
          const at = certificateExpiry?.() ?? null;
          if (at !== null) this.set(Math.floor(at / 1000));
        } catch {
          // An unreadable certificate must not fail the scrape; TLS reload reports it.
        }
      },
    });
    const groupCounts = opts.groupCounts;
    this.groups = new Gauge({
      name: 'kube_sentinel_error_groups', help: 'Error groups by priority and status.', labelNames: ['priority', 'status'], registers,
      async collect() {
        if (!groupCounts) return;
        try {
          const c = await groupCounts();
          for (const p of PRIORITIES) {
            this.set({ priority: p, status: 'firing' }, c.firingByPriority[p] ?? 0);
            this.set({ priority: p, status: 'resolved' }, (c.byPriority[p] ?? 0) - (c.firingByPriority[p] ?? 0));
          }
        } catch {
          // A failing store must not fail the scrape; readiness already reports it.
        }
      },
    });
  }
}
