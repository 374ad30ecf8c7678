// Everything off the fast path, on Express: notifications, the read API with settings, remediation
// and rule testing, and the dashboard, all under web.base_path, with the one error renderer.
import express from 'express';
import { AppError } from '../domain/errors.ts';
import type { Logger } from '../domain/ports.ts';
import { createApiRouter, type ApiOptions } from './api-routes.ts';
import { sendError, toAppError } from './errors.ts';
import { createNotificationsRouter } from './notifications-route.ts';

export interface WebOptions {
  api: ApiOptions;
  /** Dashboard pages and assets; null for none. */
  dashboard: express.Router | null;
  basePath: string;
  logger: Logger;
}

export function createWeb(o: WebOptions): express.Express {
  const web = express();
  web.disable('x-powered-by');
  web.set('query parser', 'simple');
  const router = express.Router();
  // Before the API router: its /api catch-all answers 404 for every path it does not know.
  router.use(createNotificationsRouter({ store: o.api.store, readTokens: o.api.readTokens, adminTokens: o.api.adminTokens }));
  router.use(createApiRouter(o.api));
  if (o.dashboard) router.use(o.dashboard);
  router.use(() => { throw new AppError('not_found'); });
  web.use(o.basePath || '/', router);
  web.use(() => { throw new AppError('not_found'); });
  // Express error middleware: the one renderer, plus a log line for anything unexpected.
  web.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const mapped = toAppError(err);
    // Client mistakes (bad escapes in a route parameter, body-parser refusals) cost a debug line;
    // only a real fault may log at error, so nobody can flood the logs with bad requests.
    if (mapped.code === 'internal') o.logger.error({ err }, 'unhandled error in API route');
    else if (!(err instanceof AppError)) o.logger.debug({ code: mapped.code, err: (err as Error)?.message }, 'refused a malformed API request');
    sendError(res, mapped);
  });
  return web;
}
