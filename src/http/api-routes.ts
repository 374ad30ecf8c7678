// Read API (+ settings and rule testing) on Express. Not the ingest hot path, so clarity wins here.
import express, { type NextFunction, type Request, type Response } from 'express';
import { describeRules } from '../classify/classify.ts';
import type { CompiledRuleSet } from '../classify/compile.ts';
import { AppError } from '../domain/errors.ts';
import type { LiveFeed } from '../feed.ts';
import type { Settings, Store } from '../store/types.ts';
import { requireToken, type TokenSet } from './auth.ts';
import { readJson } from './body.ts';
import { parseGroupQuery, parseHistoryQuery, parseId } from './query.ts';
import { applySettingsPatch } from './settings.ts';
import { createRemediationRouter } from './remediation-routes.ts';
import { testRules } from '../classify/try-rules.ts';
import { detectAndParse } from '../ingest/detect.ts';

export interface ApiOptions {
  store: Store;
  rules: () => CompiledRuleSet;
  feed: LiveFeed;
  readTokens: TokenSet;
  adminTokens: TokenSet;
  readOnly: boolean;
  bodyLimit: number;
  now: () => number;
  defaultSettings: Settings;
  /** Wakes this process's remediation worker (approvals, manual requests). */
  wakeRemediation?: () => void;
  /** Extra runtime facts for /api/stats (leader, role, rules, build). */
  status: () => Record<string, unknown>;
}


export function createApiRouter(opts: ApiOptions): express.Router {
  const r = express.Router();
  // With no read tokens configured the read API is open (it is usually behind the cluster network);
  // with read tokens, admin tokens are accepted too.
  const requireRead = (req: Request, _res: Response, next: NextFunction) => {
    if (opts.readTokens.size > 0) requireToken(req, opts.readTokens, opts.adminTokens);
    next();
  };
  const requireAdmin = (req: Request, _res: Response, next: NextFunction) => {
    if (opts.readOnly) throw new AppError('read_only_role', 'This replica runs role "dashboard": settings are read-only here.');
    if (opts.adminTokens.size === 0) throw new AppError('admin_disabled');
    requireToken(req, opts.adminTokens);
    next();
  };
  // The ingest body reader, not express.json(): the same media rules (JSON in UTF-8, no content
  // encoding → 415), and a declared oversize body is refused at once — body-parser would first wait
  // for the whole upload, so a client that declares 10 MB and sends nothing would hold the request.
  const json = async (req: Request, _res: Response, next: NextFunction) => {
    req.body = await readJson(req, opts.bodyLimit);
    next();
  };
  const settings = async (): Promise<Settings> => (await opts.store.getSettings()) ?? opts.defaultSettings;

  r.use('/api', requireRead);

  r.get('/api/errors', async (req, res) => {
    const query = parseGroupQuery(req.query as Record<string, unknown>, opts.now());
    const { groups, total } = await opts.store.listGroups(query);
    res.json({ errors: groups, total, page: query.page, pageSize: query.pageSize });
  });

  r.get('/api/errors/:id', async (req, res) => {
    const id = parseId(String(req.params.id));
    if (id === null) throw new AppError('not_found', `No error group ${JSON.stringify(String(req.params.id).slice(0, 64))}.`);
    const group = await opts.store.getGroup(id, { occurrences: 50 });
    if (!group) throw new AppError('not_found', `No error group ${id}.`);
    res.json(group);
  });

  r.get('/api/stats', async (_req, res) => {
    const [stats, current] = await Promise.all([opts.store.stats(opts.now()), settings()]);
    res.json({ ...stats, settings: current, ...opts.status() });
  });

  r.get('/api/rules', async (_req, res) => {
    const rules = opts.rules();
    const hits = await opts.store.ruleHits();
    res.json({
      rules: describeRules(rules).map((rule) => ({ ...rule, hits: hits[rule.name] ?? 0 })),
      unmatchedHits: hits[''] ?? 0,
      loadedAt: new Date(rules.loadedAt).toISOString(),
    });
  });

  r.post('/api/rules/test', json, async (req, res) => {
    res.json(testRules(req.body, opts.rules(), opts.now(), detectAndParse));
  });

  r.get('/api/history', async (req, res) => {
    const query = parseHistoryQuery(req.query as Record<string, unknown>);
    const { entries, total } = await opts.store.listHistory(query);
    res.json({ entries, total, page: query.page, pageSize: query.pageSize });
  });

  r.get('/api/settings', async (_req, res) => {
    res.json({ ...(await settings()), writable: !opts.readOnly && opts.adminTokens.size > 0 });
  });

  r.post('/api/settings', requireAdmin, json, async (req, res) => {
    const next = applySettingsPatch(await settings(), req.body);
    await opts.store.putSettings(next);
    opts.feed.publish({ type: 'settings', settings: next });
    res.json(next);
  });

  r.use(createRemediationRouter({
    store: opts.store, rules: opts.rules, feed: opts.feed, now: opts.now, requireAdmin, json, wake: opts.wakeRemediation,
  }));

  r.all('/api/*splat', () => { throw new AppError('not_found', 'No such API route.'); });
  return r;
}
