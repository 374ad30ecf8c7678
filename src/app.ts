// createApp(config, deps): the embeddable server. It does not listen — main/serve.ts puts it behind
// HTTPS, tests drive `handler` with supertest. Ingest and probes run on a hand-written fast path;
// everything else (read API, settings, dashboard) goes through Express.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express from 'express';
import type { CompiledRuleSet } from './classify/compile.ts';
import type { Channel } from './domain/types.ts';
import type { Config } from './config/schema.ts';
import { AppError } from './domain/errors.ts';
import { LiveFeed } from './feed.ts';
import { createApiRouter } from './http/api-routes.ts';
import { TokenSet } from './http/auth.ts';
import { InflightBudget } from './http/body.ts';
import { sendError, sendJson, toAppError } from './http/errors.ts';
import { applySecurityHeaders, drainRefusedBody, wellEncodedPath } from './http/hardening.ts';
import { admissionRoutes, ingestRoutes, type RouteHandler } from './http/ingest-routes.ts';
import { createNotificationsRouter } from './http/notifications-route.ts';
import { RateLimiter } from './http/rate-limit.ts';
import { Metrics } from './observability/metrics.ts';
import type { Logger } from './observability/logger.ts';
import { Pipeline } from './pipeline.ts';
import { GroupCommitter } from './store/batcher.ts';
import type { Store } from './store/types.ts';

/** What the remediation subsystem exposes to the HTTP layer (null when this role does not remediate). */
export interface RemediationHandle {
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
  readiness(): Promise<{ ready: boolean; checks: Record<string, string> }>;
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
  const feed = new LiveFeed({
    loadGroup: (id) => deps.store.getGroup(id, { occurrences: 0 }),
    onError: (err) => log.warn({ err }, 'live feed could not load a group'),
  });
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

  async function readiness() {
    const checks: Record<string, string> = {};
    checks.tls = deps.tlsLoaded === undefined || deps.tlsLoaded() ? 'ok' : 'not loaded';
    checks.rules = deps.rules() ? 'ok' : 'not loaded';
    checks.shutdown = terminating ? 'terminating' : 'ok';
    try {
      await Promise.race([deps.store.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref())]);
      checks.store = 'ok';
    } catch (err) {
      checks.store = `unavailable: ${(err as Error).message}`;
    }
    return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
  }

  const probe = (kind: 'live' | 'ready'): RouteHandler => async (_req, res) => {
    if (kind === 'live') {
      const healthy = deps.remediation?.healthy() ?? true;
      sendJson(res, healthy ? 200 : 503, JSON.stringify({ status: healthy ? 'ok' : 'leader failed to renew its lease' }));
      return;
    }
    const r = await readiness();
    sendJson(res, r.ready ? 200 : 503, JSON.stringify({ status: r.ready ? 'ready' : 'not ready', checks: r.checks }));
  };

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
  const fast = ingestRoutes(ingestOptions);
  const admission = config.web.admission_listen === undefined ? null : admissionRoutes({
    ...ingestOptions,
    needsClientCert: Boolean(config.tls.client_ca_file),
    limiter: new RateLimiter({ ratePerSecond: config.web.admission_rate_limit, burst: 2 * config.web.admission_rate_limit, now }),
  });
  for (const [path, kind] of [['/healthz', 'live'], ['/health', 'live'], ['/readyz', 'ready'], ['/ready', 'ready']] as const) {
    fast.set(`GET ${path}`, probe(kind));
    admission?.set(`GET ${path}`, probe(kind));
  }
  fast.set('GET /metrics', async (_req, res) => {
    const body = await metrics.registry.metrics();
    res.writeHead(200, { 'content-type': metrics.registry.contentType });
    res.end(body);
  });

  const web = express();
  web.disable('x-powered-by');
  web.set('query parser', 'simple');
  const router = express.Router();
  // Before the API router: its /api catch-all answers 404 for every path it does not know.
  router.use(createNotificationsRouter({
    store: deps.store, readTokens: new TokenSet({ tokens: deps.tokens.read }), adminTokens: new TokenSet({ tokens: deps.tokens.admin }),
  }));
  router.use(createApiRouter({
    store: deps.store, rules: deps.rules, pipeline, feed,
    readTokens: new TokenSet({ tokens: deps.tokens.read }),
    adminTokens: new TokenSet({ tokens: deps.tokens.admin }),
    readOnly, bodyLimit: config.web.body_limit, now,
    defaultSettings: {
      enabled: config.remediation.enabled,
      dryRun: config.remediation.dry_run,
      maxActionsPerHour: config.remediation.max_actions_per_hour,
      requireApproval: false,
    },
    status: () => ({ role: config.role, identity: deps.identity ?? null, leader: deps.remediation?.status() ?? null }),
    wakeRemediation: () => deps.remediation?.wake(),
  }));
  if (deps.dashboard) router.use(deps.dashboard);
  router.use(() => { throw new AppError('not_found'); });
  web.use(config.web.base_path || '/', router);
  web.use(() => { throw new AppError('not_found'); });
  // Express error middleware: the one renderer, plus a log line for anything unexpected.
  web.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const mapped = toAppError(err);
    // Client mistakes (bad escapes in a route parameter, body-parser refusals) cost a debug line;
    // only a real fault may log at error, so nobody can flood the logs with bad requests.
    if (mapped.code === 'internal') log.error({ err }, 'unhandled error in API route');
    else if (!(err instanceof AppError)) log.debug({ code: mapped.code, err: (err as Error)?.message }, 'refused a malformed API request');
    sendError(res, mapped);
  });

  const base = config.web.base_path;
  /** Shared by both listeners: headers, encoding check, early-refusal draining, metrics, fast routes. */
  const dispatch = (routes: Map<string, RouteHandler>, fallback: RequestListener): RequestListener => {
    const fastPaths = new Set([...routes.keys()].map((k) => k.slice(k.indexOf(' ') + 1)));
    return (req: IncomingMessage, res: ServerResponse) => {
      const started = performance.now();
      applySecurityHeaders(res, false);
      // An answer sent before the body was read (401, 403, 413, 415…) must still reach the sender.
      res.once('finish', () => { if (!req.complete) drainRefusedBody(req); });
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      let path = q === -1 ? url : url.slice(0, q);
      if (!wellEncodedPath(path)) {
        log.debug({ method: req.method }, 'refused a path with malformed percent-encoding');
        sendError(res, new AppError('bad_request', 'The path holds malformed percent-encoding.'));
        return;
      }
      if (base) {
        if (path !== base && !path.startsWith(`${base}/`)) {
          sendError(res, new AppError('not_found', `Routes live under ${base}.`));
          return;
        }
        path = path.slice(base.length) || '/';
      }
      if (path.startsWith('/api/') || fastPaths.has(path)) res.setHeader('cache-control', 'no-store');
      const key = `${req.method} ${path}`;
      const route = routes.get(key);
      res.once('finish', () => {
        const label = route ? path : fastPaths.has(path) ? path : (req as express.Request).route?.path ?? 'other';
        metrics.httpDuration.observe({ route: label, method: req.method ?? '', code: res.statusCode }, (performance.now() - started) / 1000);
      });
      if (draining) res.setHeader('connection', 'close');
      if (route) {
        route(req, res).catch((err) => {
          if (!(err instanceof AppError)) log.error({ err, route: key }, 'unhandled error in ingest route');
          sendError(res, err);
        });
        return;
      }
      if (fastPaths.has(path)) {
        sendError(res, new AppError('method_not_allowed', `${req.method} is not allowed on ${path}.`));
        return;
      }
      fallback(req, res);
    };
  };
  const handler = dispatch(fast, web);
  const admissionHandler = admission && dispatch(admission, (_req, res) => {
    sendError(res, new AppError('not_found', 'This listener serves POST /webhooks/admission only.'));
  });

  return {
    handler, admissionHandler, pipeline, feed, metrics, readiness,
    beginTermination: () => { terminating = true; },
    beginDrain: () => { terminating = true; draining = true; },
    close: () => committer.drain(),
  };
}
