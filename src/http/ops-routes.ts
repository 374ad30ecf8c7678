// Operations routes on the fast path: liveness, readiness and Prometheus metrics. Both listeners
// serve the probes; only the main one serves /metrics.
import { sendJson } from './errors.ts';
import type { RouteHandler } from './ingest-routes.ts';
import type { Metrics } from '../observability/metrics.ts';

export interface Readiness {
  ready: boolean;
  checks: Record<string, string>;
}

export interface ReadinessInputs {
  tlsLoaded: () => boolean;
  rulesLoaded: () => boolean;
  terminating: () => boolean;
  storePing: () => Promise<void>;
  /** How long the store may take to answer the ping (default 2 s). */
  pingTimeoutMs?: number;
}

/** Ready when TLS and rules are loaded, the store answers, and no SIGTERM arrived. */
export async function checkReadiness(i: ReadinessInputs): Promise<Readiness> {
  const checks: Record<string, string> = {
    tls: i.tlsLoaded() ? 'ok' : 'not loaded',
    rules: i.rulesLoaded() ? 'ok' : 'not loaded',
    shutdown: i.terminating() ? 'terminating' : 'ok',
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([i.storePing(), new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), i.pingTimeoutMs ?? 2000);
    })]);
    checks.store = 'ok';
  } catch (err) {
    checks.store = `unavailable: ${(err as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
  return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
}

export interface ProbeOptions {
  readiness: () => Promise<Readiness>;
  /**
   * Why this process is not live (liveness 503, so Kubernetes restarts it), or null: it led and failed
   * to renew its Lease, or its store can never answer again (a store thread died).
   */
  unhealthy: () => string | null;
}

/** GET /healthz, /health (liveness) and /readyz, /ready (readiness). */
export function probeRoutes(o: ProbeOptions): Map<string, RouteHandler> {
  const live: RouteHandler = async (_req, res) => {
    const why = o.unhealthy();
    sendJson(res, why === null ? 200 : 503, JSON.stringify({ status: why ?? 'ok' }));
  };
  const ready: RouteHandler = async (_req, res) => {
    const r = await o.readiness();
    sendJson(res, r.ready ? 200 : 503, JSON.stringify({ status: r.ready ? 'ready' : 'not ready', checks: r.checks }));
  };
  return new Map([['GET /healthz', live], ['GET /health', live], ['GET /readyz', ready], ['GET /ready', ready]]);
}

/** GET /metrics in the Prometheus text format. */
export function metricsRoute(metrics: Metrics): RouteHandler {
  return async (_req, res) => {
    const body = await metrics.registry.metrics();
    res.writeHead(200, { 'content-type': metrics.registry.contentType });
    res.end(body);
  };
}
