// Ingest routes on the raw node request path (no Express): parse → pipeline → answer after commit.
// Status codes follow the senders' retry rules (DESIGN §7): 2xx once committed, 400 for payloads that
// can never be valid (Alertmanager does not retry 4xx), 503 when the store cannot commit (it retries 5xx).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { AppError, type ErrorDetail } from '../domain/errors.ts';
import type { Channel, Signal } from '../domain/types.ts';
import type { AdmissionAdapter } from '../ingest/adapter.ts';
import { admissionResponse, type AdmissionParse } from '../ingest/admission.ts';
import { INGEST_ADAPTERS } from '../ingest/formats.ts';
import type { IngestOutcome, Pipeline } from '../pipeline.ts';
import { requireToken, type TokenSet } from './auth.ts';
import type { RateLimiter } from './rate-limit.ts';
import { readJsonBudgeted, type InflightBudget } from './body.ts';
import { sendJson } from './errors.ts';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface IngestRouteOptions {
  pipeline: Pipeline;
  bodyLimit: number;
  /** Shared by every ingest route: bounds the memory held by bodies in flight. */
  budget: InflightBudget;
  ingestTokens: TokenSet;
  readOnly: boolean;
  isDraining: () => boolean;
  now: () => number;
  onInvalid?: (channel: Channel, count: number) => void;
  onStoreError?: (err: unknown) => void;
}

interface Parsed {
  signals: Signal[];
  issues: ErrorDetail[];
}

function guard(opts: IngestRouteOptions): void {
  if (opts.readOnly) throw new AppError('read_only_role');
  if (opts.isDraining()) throw new AppError('draining');
}

/** The pipeline's commit; a store failure answers 503 store_unavailable. Not async: see submit(). */
function commit(opts: IngestRouteOptions, channel: Channel, signals: Signal[]): Promise<IngestOutcome> {
  // Pipeline.ingest() reports every failure as a rejection, never by throwing.
  return opts.pipeline.ingest(channel, signals).catch((err: unknown) => {
    opts.onStoreError?.(err);
    throw new AppError('store_unavailable');
  });
}

/** A parsed body handed to the pipeline: what the answer needs once the commit is done. */
interface Submitted {
  outcome: Promise<IngestOutcome>;
  valid: number;
  issues: ErrorDetail[];
  release: () => void;
}

/**
 * Reads, parses and submits one body. The body and its signals stay in this frame, which ends once
 * they are submitted: the handler awaits the commit holding only the counts and the issues.
 */
async function submit(opts: IngestRouteOptions, channel: Channel, parse: (body: unknown, now: number) => Parsed, req: IncomingMessage): Promise<Submitted> {
  const read = await readJsonBudgeted(req, opts.bodyLimit, opts.budget);
  try {
    const { signals, issues } = parse(read.body, opts.now());
    // Like Alertmanager's own API: keep the valid items, then report the invalid ones with 400.
    const outcome = signals.length ? commit(opts, channel, signals) : Promise.resolve({ results: [], ignored: 0 });
    return { outcome, valid: signals.length, issues, release: read.release };
  } catch (err) {
    read.release();
    throw err;
  }
}

function tokenRoute(opts: IngestRouteOptions, channel: Channel, parse: (body: unknown, now: number) => Parsed): RouteHandler {
  return async (req, res) => {
    guard(opts);
    requireToken(req, opts.ingestTokens);
    const { outcome: committed, valid, issues, release } = await submit(opts, channel, parse, req);
    let outcome: IngestOutcome;
    try {
      outcome = await committed;
    } finally {
      release();
    }
    if (issues.length) {
      opts.onInvalid?.(channel, issues.length);
      throw new AppError('invalid_payload',
        `${issues.length} item(s) rejected; ${valid} valid item(s) were accepted.`, issues.slice(0, 100));
    }
    sendJson(res, 200, `{"status":"success","accepted":${outcome.results.length},"ignored":${outcome.ignored}}`);
  };
}

export interface AdmissionRouteOptions extends IngestRouteOptions {
  /** When a client CA is configured, the admission route requires a verified client certificate. */
  needsClientCert: boolean;
  /** Per source address: a flood from anywhere cannot fill the store or the remediation queue. */
  limiter: RateLimiter;
}

function admissionRoute(opts: AdmissionRouteOptions, adapter: AdmissionAdapter, channel: Channel): RouteHandler {
  return async (req, res) => {
    guard(opts);
    if (opts.needsClientCert && !(req.socket as TLSSocket).authorized) {
      throw new AppError('unauthorized', 'The admission route requires a client certificate signed by tls.client_ca_file.');
    }
    const source = req.socket.remoteAddress ?? 'unknown';
    if (!opts.limiter.take(source)) {
      // failurePolicy: Ignore — the API server's write proceeds; only our recording of it is skipped.
      res.setHeader('retry-after', String(opts.limiter.retryAfterSeconds(source)));
      throw new AppError('rate_limited');
    }
    const read = await readJsonBudgeted(req, opts.bodyLimit, opts.budget);
    let review: AdmissionParse;
    try {
      review = adapter.parse(read.body, opts.now(), channel);
      if (review.uid === null) throw new AppError('invalid_payload', 'Not an AdmissionReview with request.uid.', review.issues);
      // Never block the API server's write: every answer allows; dry-run requests record nothing.
      if (!review.dryRun && review.signals.length) await commit(opts, channel, review.signals);
    } finally {
      read.release();
    }
    if (review.issues.length) opts.onInvalid?.(channel, review.issues.length);
    sendJson(res, 200, JSON.stringify(admissionResponse(review.uid)));
  };
}

/** Route table keyed by `METHOD path` (path relative to web.base_path), from the ingest registry. */
export function ingestRoutes(opts: IngestRouteOptions): Map<string, RouteHandler> {
  const routes = new Map<string, RouteHandler>();
  for (const adapter of INGEST_ADAPTERS) {
    if (adapter.listener !== 'ingest') continue;
    for (const { path, channel } of adapter.routes) {
      routes.set(`POST ${path}`, tokenRoute(opts, channel, (body, now) => adapter.parse(body, now, channel)));
    }
  }
  return routes;
}

/**
 * The admission route lives on its own listener (web.admission_listen): the API server cannot send a
 * bearer token, so the route is reachable only where the webhook Service points, never through the
 * ingest Service or an Ingress, and it does not exist at all without that setting.
 */
export function admissionRoutes(opts: AdmissionRouteOptions): Map<string, RouteHandler> {
  const routes = new Map<string, RouteHandler>();
  for (const adapter of INGEST_ADAPTERS) {
    if (adapter.listener !== 'admission') continue;
    for (const { path, channel } of adapter.routes) routes.set(`POST ${path}`, admissionRoute(opts, adapter, channel));
  }
  return routes;
}
