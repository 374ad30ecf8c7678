// The front door of both listeners: security headers, the path-encoding check, base-path routing,
// early-refusal draining, the request-duration metric, then a fast route (ingest, probes, metrics)
// by "METHOD /path", or the fallback (Express: read API, settings, dashboard).
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { AppError } from '../domain/errors.ts';
import type { Logger } from '../domain/ports.ts';
import type { Metrics } from '../observability/metrics.ts';
import { sendError } from './errors.ts';
import { applySecurityHeaders, drainRefusedBody, wellEncodedPath } from './hardening.ts';
import type { RouteHandler } from './ingest-routes.ts';

export interface DispatchOptions {
  /** Fast routes by `METHOD /path` (the path after base_path). */
  routes: ReadonlyMap<string, RouteHandler>;
  fallback: RequestListener;
  basePath: string;
  metrics: Metrics;
  logger: Logger;
  /** True once draining: every answer closes its connection. */
  draining: () => boolean;
}

export function dispatch(o: DispatchOptions): RequestListener {
  const { routes, basePath: base, metrics, logger: log } = o;
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
      // Express sets req.route for the routes it matched; anything else is one `other` series.
      const label = fastPaths.has(path) ? path : (req as IncomingMessage & { route?: { path?: string } }).route?.path ?? 'other';
      metrics.httpDuration.observe({ route: label, method: req.method ?? '', code: res.statusCode }, (performance.now() - started) / 1000);
    });
    if (o.draining()) res.setHeader('connection', 'close');
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
    o.fallback(req, res);
  };
}
