// createApp(config, deps): the embeddable HTTP application. It does not listen — serve.ts (the
// composition root) puts it behind HTTPS, tests drive `handler` with supertest. It assembles the
// ingest pipeline with its group committer and the routes: ingest and ops on the fast path
// (src/http/dispatch.ts), everything else on Express (src/http/web.ts).
import type { RequestListener } from 'node:http';
import type express from 'express';
import type { CompiledRuleSet } from './classify/compile.ts';
import type { Channel } from './domain/types.ts';
import type { Config } from './config/schema.ts';
import { AppError } from './domain/errors.ts';
import type { Logger } from './domain/ports.ts';
import { storeFeed, type LiveFeed } from './feed.ts';
import { TokenSet } from './http/auth.ts';
import { InflightBudget } from './http/body.ts';
import { dispatch } from './http/dispatch.ts';
import { sendError } from './http/errors.ts';
import { admissionRoutes, ingestRoutes } from './http/ingest-routes.ts';
import { checkReadiness, metricsRoute, probeRoutes, type Readiness } from './http/ops-routes.ts';
import { RateLimiter } from './http/rate-limit.ts';
import { createWeb } from './http/web.ts';
import { Metrics } from './observability/metrics.ts';
import { Pipeline } from './pipeline.ts';
import { GroupCommitter } from './store/batcher.ts';
import type { Store } from './store/types.ts';

/** What the remediation subsystem exposes to the HTTP layer (null when this role does not remediate). */
interface RemediationHandle {
  wake(): void;
  status(): Record<string, unknown>;
  /** False when this process led and failed to renew its Lease (→ /healthz 503). */
  healthy(): boolean;
}

export interface AppDeps {
  store: Store;
  rules: () => CompiledRuleSet;
  tokens: { ingest: readonly string[]; read: readonly string[]; admin: readonly string[] };
  logger: Logger;
  metrics?: Metrics;
  /** The live feed behind /ws; the composition root creates it first so remediation can publish to it. */
  feed?: LiveFeed;
  now?: () => number;
  /** False until TLS material is loaded (readiness). */
  tlsLoaded?: () => boolean;
  remediation?: RemediationHandle | null;
  /** Dashboard pages and assets, mounted at web.base_path. */
  dashboard?: express.Router | null;
  identity?: string;
}

export interface App {
  handler: RequestListener;
  /** POST /webhooks/admission (+ probes) for the web.admission_listen listener; null when that is unset. */
  admissionHandler: RequestListener | null;
  pipeline: Pipeline;
  feed: LiveFeed;
  metrics: Metrics;
  readiness(): Promise<Readiness>;
  /** Readiness turns 503 (SIGTERM received); requests are still served. */
  beginTermination(): void;
  /** New ingest requests answer 503 `draining`; connections close after their response. */
  beginDrain(): void;
  /** Wait for in-flight batches to commit. */
  close(): Promise<void>;
}

export function createApp(config: Config, deps: AppDeps): App {
  const now = deps.now ?? Date.now;
  const readOnly = config.role === 'dashboard';
  const metrics = deps.metrics ?? new Metrics({ groupCounts: () => deps.store.stats(now()) });
  const log = deps.logger;
  let terminating = false;
  let draining = false;

  const committer = new GroupCommitter({
    store: deps.store,
    onBatch: (info) => {
      metrics.storeBatchSize.observe(info.items);
      metrics.storeCommitSeconds.observe(info.durationMs / 1000);
    },
  });
  const feed = deps.feed ?? storeFeed(deps.store, log);
  const pipeline = new Pipeline({
    rules: deps.rules,
    committer,
    now,
    observer: {
      committed: (channel, results) => { for (const r of results) metrics.ingestSignals.inc({ channel, outcome: r.outcome }); },
      ignored: (channel, n) => metrics.ingestSignals.inc({ channel, outcome: 'ignored' }, n),
    },
    onGroupsChanged: (ids) => feed.groupsChanged(ids),
    onRemediationQueued: () => deps.remediation?.wake(),
  });

  const readiness = () => checkReadiness({
    tlsLoaded: deps.tlsLoaded ?? (() => true), rulesLoaded: () => Boolean(deps.rules()), terminating: () => terminating,
    storePing: () => deps.store.ping(),
  });
  const probes = probeRoutes({
    readiness,
    unhealthy: () => deps.store.failure?.() ?? (deps.remediation && !deps.remediation.healthy() ? 'leader failed to renew its lease' : null),
  });

  const ingestOptions = {
    pipeline,
    bodyLimit: config.web.body_limit,
    // 16 MiB of raw JSON parses to roughly 100–160 MiB of objects: bounded well inside the heap.
    budget: new InflightBudget({ limitBytes: Math.max(16 * 1024 * 1024, 4 * config.web.body_limit) }),
    ingestTokens: new TokenSet({ tokens: deps.tokens.ingest }),
    readOnly,
    isDraining: () => draining,
    now,
    onInvalid: (channel: Channel, n: number) => metrics.ingestSignals.inc({ channel, outcome: 'invalid' }, n),
    onStoreError: (err: unknown) => { metrics.storeErrors.inc(); log.error({ err }, 'store could not commit an ingest batch'); },
  };
  const fast = new Map([...ingestRoutes(ingestOptions), ...probes, ['GET /metrics', metricsRoute(metrics)]]);
  const admission = config.web.admission_listen === undefined ? null : new Map([...admissionRoutes({
    ...ingestOptions,
    needsClientCert: Boolean(config.tls.client_ca_file),
    limiter: new RateLimiter({ ratePerSecond: config.web.admission_rate_limit, burst: 2 * config.web.admission_rate_limit, now }),
  }), ...probes]);

  const readTokens = new TokenSet({ tokens: deps.tokens.read });
  const adminTokens = new TokenSet({ tokens: deps.tokens.admin });
  const web = createWeb({
    basePath: config.web.base_path, logger: log, dashboard: deps.dashboard ?? null,
    api: {
      store: deps.store, rules: deps.rules, feed, readTokens, adminTokens, readOnly, bodyLimit: config.web.body_limit, now,
      defaultSettings: {
        enabled: config.remediation.enabled,
        dryRun: config.remediation.dry_run,
        maxActionsPerHour: config.remediation.max_actions_per_hour,
        requireApproval: false,
      },
      status: () => ({ role: config.role, identity: deps.identity ?? null, leader: deps.remediation?.status() ?? null }),
      wakeRemediation: () => deps.remediation?.wake(),
    },
  });

  const common = { basePath: config.web.base_path, metrics, logger: log, draining: () => draining };
  const handler = dispatch({ ...common, routes: fast, fallback: web });
  const admissionHandler = admission && dispatch({
    ...common, routes: admission,
    fallback: (_req, res) => sendError(res, new AppError('not_found', 'This listener serves POST /webhooks/admission only.')),
  });

  return {
    handler, admissionHandler, pipeline, feed, metrics, readiness,
    beginTermination: () => { terminating = true; },
    beginDrain: () => { terminating = true; draining = true; },
    close: () => committer.drain(),
  };
}
