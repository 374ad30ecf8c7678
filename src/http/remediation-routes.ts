// Remediation API (DESIGN §6a): the queue with its approval states, approve/reject, "run remediation
// now" on an error group, and suspensions. Reads need the read token (mounted behind it); every write
// needs an admin token, and the audit names the admin by a stable, non-secret id of that token.
import { createHash } from 'node:crypto';
import express, { type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import type { CompiledRuleSet } from '../classify/compile.ts';
import { AppError } from '../domain/errors.ts';
import type { WorkloadRef } from '../domain/types.ts';
import type { LiveFeed } from '../feed.ts';
import { OUTCOME_REASONS } from '../remediate/outcome.ts';
import { SKIP_REASONS } from '../remediate/reasons.ts';
import { signalDisplay } from '../remediate/target.ts';
import { iso, isoOrNull } from '../store/rows.ts';
import { REQUEST_STATES, type RemediationRequest, type RequestState, type Store } from '../store/types.ts';
import { bearerToken } from './auth.ts';
import { parseId } from './query.ts';

export interface RemediationRoutesOptions {
  store: Store;
  rules: () => CompiledRuleSet;
  feed: LiveFeed;
  now: () => number;
  requireAdmin: RequestHandler;
  json: RequestHandler;
  /** Wakes this process's worker (the store's NOTIFY wakes a leader elsewhere). */
  wake?: () => void;
}

/** Stable and non-secret: 8 hex digits of the token's SHA-256, enough to tell admins apart in the audit. */
function adminId(req: Request): string {
  const token = bearerToken(req) ?? '';
  return `admin:${createHash('sha256').update(token).digest('hex').slice(0, 8)}`;
}

/** The JSON shape of a request in the API: ISO times, the target in words. */
function requestView(r: RemediationRequest) {
  return {
    id: r.id, groupId: r.groupId, rule: r.rule, action: r.action, params: r.params, namespace: r.namespace, pod: r.pod,
    target: signalDisplay(r), state: r.state, attempts: r.attempts, createdAt: iso(r.createdAt),
    nextAttemptAt: r.state === 'pending' ? iso(r.nextAttemptAt) : null, lastError: r.lastError, plan: r.plan,
    approvalExpiresAt: isoOrNull(r.approvalExpiresAt), approved: r.approved, decidedBy: r.decidedBy,
    decisionComment: r.decisionComment, force: r.force, requestedBy: r.requestedBy,
  };
}

const decisionBody = z.strictObject({ comment: z.string().max(1000).optional() });
const remediateBody = z.strictObject({ force: z.boolean().optional() });

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((i) => ({ path: i.path.join('.') || 'body', message: i.code === 'unrecognized_keys' ? `unknown key(s): ${i.keys.join(', ')}` : i.message }));
  throw new AppError('bad_request', `Invalid body: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, details);
}

function idParam(req: Request, what: string): number {
  const id = parseId(String(req.params.id));
  if (id === null) throw new AppError('not_found', `No ${what} ${JSON.stringify(String(req.params.id).slice(0, 64))}.`);
  return id;
}

const OWNER_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Pod'];

/** A group's `workload` display (`Deployment/web`) back to a reference, when it names one. */
function ownerOf(workload: string): WorkloadRef | null {
  const i = workload.indexOf('/');
  const kind = workload.slice(0, i);
  return i > 0 && OWNER_KINDS.includes(kind) ? { kind: kind as WorkloadRef['kind'], name: workload.slice(i + 1) } : null;
}

export function createRemediationRouter(o: RemediationRoutesOptions): express.Router {
  const r = express.Router();
  // An approve/reject without a body is fine: only a body that is present must be JSON.
  const optionalJson: RequestHandler = (req, res, next) => {
    const length = req.headers['content-length'];
    if ((length === undefined || length === '0') && req.headers['transfer-encoding'] === undefined) return next();
    return o.json(req, res, next);
  };

  // The one vocabulary of named reasons (remediate/reasons.ts, outcome.ts), for filters and legends.
  r.get('/api/remediation-reasons', (_req, res) => {
    res.json({ skip: SKIP_REASONS, outcome: OUTCOME_REASONS });
  });

  r.get('/api/remediations', async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const state = typeof q.state === 'string' && q.state !== '' ? q.state : undefined;
    const issues: Array<{ path: string; message: string }> = [];
    if (state !== undefined && !(REQUEST_STATES as readonly string[]).includes(state)) issues.push({ path: 'state', message: `must be one of ${REQUEST_STATES.join(', ')}` });
    const int = (key: string, fallback: number, max: number): number => {
      const v = q[key];
      if (v === undefined || v === '') return fallback;
      const n = typeof v === 'string' ? parseId(v) : null;
      if (n === null || n > max) { issues.push({ path: key, message: `must be an integer from 1 to ${max}` }); return fallback; }
      return n;
    };
    const groupId = q.group_id === undefined || q.group_id === '' ? undefined : int('group_id', 0, Number.MAX_SAFE_INTEGER);
    const page = int('page', 1, 1_000_000);
    const pageSize = int('page_size', 50, 500);
    if (issues.length) throw new AppError('invalid_query', `Invalid query: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues);
    const { requests, total } = await o.store.listRequests({ state: state as RequestState | undefined, groupId, page, pageSize });
    res.json({ remediations: requests.map(requestView), total, page, pageSize });
  });

  for (const verb of ['approve', 'reject'] as const) {
    r.post(`/api/remediations/:id/${verb}`, o.requireAdmin, optionalJson, async (req, res) => {
      const id = idParam(req, 'remediation request');
      const { comment = '' } = parseBody(decisionBody, req.body);
      const by = adminId(req);
      const decided = await o.store.decideApproval(id, { approve: verb === 'approve', by, comment, now: o.now() });
      if (!decided) {
        const current = await o.store.getRequest(id);
        if (!current) throw new AppError('not_found', `No remediation request ${id}.`);
        throw new AppError('not_awaiting_approval', `Remediation request ${id} is ${current.state}, not awaiting approval.`);
      }
      const at = o.now();
      const entry = {
        requestId: id, groupId: decided.groupId, at, rule: decided.rule, action: decided.action, namespace: decided.namespace,
        target: signalDisplay(decided), outcome: verb === 'approve' ? 'approved' as const : 'rejected' as const, reason: 'human',
        message: `${verb === 'approve' ? 'approved' : 'rejected'} by ${by}${comment ? `: ${comment}` : ''} (plan: ${decided.plan ?? ''})`,
        actor: by, cooldownKey: '',
      };
      const auditId = await o.store.appendAudit(entry);
      const { cooldownKey: _k, ...rest } = entry;
      o.feed.publish({ type: 'remediation', entry: { ...rest, id: auditId, at: iso(at) } });
      if (verb === 'approve') o.wake?.();
      res.json(requestView(decided));
    });
  }

  r.post('/api/errors/:id/remediate', o.requireAdmin, optionalJson, async (req, res) => {
    const id = idParam(req, 'error group');
    const { force = false } = parseBody(remediateBody, req.body);
    const group = await o.store.getGroup(id, { occurrences: 0 });
    if (!group) throw new AppError('not_found', `No error group ${id}.`);
    const rule = group.rule === null ? undefined : o.rules().rules.find((x) => x.name === group.rule);
    if (!rule?.remediation) throw new AppError('no_remediation', `Error group ${id} matched ${group.rule === null ? 'no rule' : `rule ${group.rule}, which has no remediation action`}.`);
    const requestId = await o.store.queueRequest({
      groupId: group.id, fingerprint: group.fingerprint, rule: rule.name, action: rule.remediation.action,
      params: { ...rule.remediation.params }, cooldownMs: rule.remediation.cooldownMs, namespace: group.namespace, pod: group.pod,
      container: group.container, owner: ownerOf(group.workload), at: o.now(), force, requestedBy: adminId(req),
    });
    o.wake?.();
    const queued = await o.store.getRequest(requestId);
    res.status(202).json(queued ? requestView(queued) : { id: requestId, state: 'pending' });
  });

  r.get('/api/suspensions', async (req, res) => {
    const active = req.query.active;
    const filter = active === 'true' ? { active: true } : active === 'false' ? { active: false } : {};
    if (active !== undefined && active !== 'true' && active !== 'false') {
      throw new AppError('invalid_query', 'Invalid query: active must be true or false', [{ path: 'active', message: 'must be true or false' }]);
    }
    res.json({ suspensions: await o.store.listSuspensions(filter) });
  });

  r.delete('/api/suspensions/:id', o.requireAdmin, async (req, res) => {
    const id = idParam(req, 'suspension');
    const lifted = await o.store.liftSuspension(id, adminId(req), o.now());
    if (!lifted) throw new AppError('not_found', `No active suspension ${id}.`);
    res.json(lifted);
  });

  return r;
}
