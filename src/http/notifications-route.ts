// GET /api/notifications (DESIGN §6b): the outbox's deliveries, newest first, for people and the
// error page. Read token like the rest of the read API.
import express, { type NextFunction, type Request, type Response } from 'express';
import { AppError } from '../domain/errors.ts';
import type { NotificationMessage } from '../notify/message.ts';
import { DELIVERY_STATES, type Delivery, type DeliveryQuery, type DeliveryState } from '../store/outbox.ts';
import type { Store } from '../store/types.ts';
import { requireToken, type TokenSet } from './auth.ts';
import { CONTROL_CHARACTERS } from './query.ts';

export interface NotificationsRouteOptions {
  store: Pick<Store, 'listDeliveries'>;
  readTokens: TokenSet;
  adminTokens: TokenSet;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The API shape: the delivery plus the groups it names (not the whole stored message). */
function toJson(d: Delivery): Record<string, unknown> {
  const m = d.message as Partial<NotificationMessage> | null;
  return {
    id: d.id, route: d.route, receiver: d.receiver, kind: d.kind, state: d.state, attempts: d.attempts,
    groupIds: d.groupIds, detailed: d.detailed, suppressed: d.suppressed,
    groups: (m?.groups ?? []).map((g) => ({ id: g.id, priority: g.priority, title: g.title, namespace: g.namespace, workload: g.workload })),
    createdAt: iso(d.createdAt), nextAttemptAt: d.state === 'pending' ? iso(d.nextAttemptAt) : null, sentAt: iso(d.sentAt),
    lastError: d.lastError,
  };
}

function positiveInt(v: unknown, name: string, fallback: number, max: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v) || n < 1 || n > max) {
    throw new AppError('invalid_query', `${name} must be an integer from 1 to ${max}.`, [{ path: name, message: 'invalid' }]);
  }
  return n;
}

function parseDeliveryQuery(q: Record<string, unknown>): DeliveryQuery {
  const out: DeliveryQuery = { page: positiveInt(q.page, 'page', 1, 1_000_000), pageSize: positiveInt(q.page_size, 'page_size', 50, 500) };
  if (q.group_id !== undefined) out.groupId = positiveInt(q.group_id, 'group_id', 1, Number.MAX_SAFE_INTEGER);
  if (q.receiver !== undefined) {
    // Receiver names are config names: no control characters (PostgreSQL refuses NUL in text outright).
    if (typeof q.receiver !== 'string' || q.receiver.length > 64 || CONTROL_CHARACTERS.test(q.receiver)) throw new AppError('invalid_query', 'receiver must be a receiver name.', [{ path: 'receiver', message: 'invalid' }]);
    out.receiver = q.receiver;
  }
  if (q.state !== undefined) {
    if (!(DELIVERY_STATES as readonly unknown[]).includes(q.state)) {
      throw new AppError('invalid_query', `state must be one of ${DELIVERY_STATES.join(', ')}.`, [{ path: 'state', message: 'invalid' }]);
    }
    out.state = q.state as DeliveryState;
  }
  return out;
}

export function createNotificationsRouter(opts: NotificationsRouteOptions): express.Router {
  const r = express.Router();
  r.get('/api/notifications', (req: Request, res: Response, next: NextFunction) => {
    try {
      if (opts.readTokens.size > 0) requireToken(req, opts.readTokens, opts.adminTokens);
      const query = parseDeliveryQuery(req.query as Record<string, unknown>);
      opts.store.listDeliveries(query).then(({ deliveries, total }) => {
        res.json({ notifications: deliveries.map(toJson), total, page: query.page, pageSize: query.pageSize });
      }, next);
    } catch (err) {
      next(err);
    }
  });
  return r;
}
