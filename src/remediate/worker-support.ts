// The worker's options, and small pieces of it with no state of their own: the retry backoff, the
// cooldown key, how a failed action is read, and the writer that re-checks leadership before every
// mutating call, and the gathering of the guards' input.
import type { ActionName } from '../domain/types.ts';
import type { Clock, Logger } from '../domain/ports.ts';
import { type Leadership, NotLeaderError } from '../leader/index.ts';
import type { AuditEntry, Expectation, NewAuditEntry, RemediationRequest, Settings, Store } from '../store/types.ts';
import { ActionIneffectiveError, type Plan } from './actions/types.ts';
import type { Facts } from './decide.ts';
import { WebhookCallError, type WebhookPort } from './actions/webhook.ts';
import { OWN_EVENT_REASON } from '../domain/types.ts';
import { isKubeApiError, type KubeGateway, type KubeWriter, type NewEvent } from './kube.ts';
import { HOUR_MS, hasOptOut, type GuardInput } from './guards.ts';
import type { RemediationMetrics } from './ports.ts';
import { signalDisplay, type ResolvedTarget } from './target.ts';

/** What the worker reads from the current rule set for a request's rule (null: rule gone). */
export type RuleLookup = (rule: string) => { approval: 'required' | 'auto'; verifyMs: number } | null;

export interface WorkerOptions {
  store: Store;
  /** null: no cluster configured — dry-run records "would act" unverified, real runs skip. */
  kube: KubeGateway | null;
  leader: Leadership;
  /** Settings when the store has none yet (from config.remediation). */
  defaults: Settings;
  excludedNamespaces: readonly string[];
  maxAttempts: number;
  clock: Clock;
  random: () => number;
  logger?: Logger;
  metrics?: RemediationMetrics;
  pollIntervalMs?: number;
  /**
   * After a pass that decided requests, the next pass waits at least this long, wakes or not (default
   * 1s, at most pollIntervalMs): passGapMs().
   */
  passGapMs?: number;
  /** How long a claim lasts; must exceed the longest action (API timeouts are 10s per call). */
  claimMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Window over which acted/failed entries per workload count toward max_attempts. */
  attemptWindowMs?: number;
  /** Rule keys remediation.approval / remediation.verify; absent: auto, 5m. */
  ruleOf?: RuleLookup;
  /** remediation.approval_ttl (default 1h). */
  approvalTtlMs?: number;
  /** remediation.max_ineffective (default 2). */
  maxIneffective?: number;
  /** Minimum time between two outcome-check passes (default 2s). */
  verifyEveryMs?: number;
  /** Webhook receivers for the `webhook` action (src/notify); absent: that action skips. */
  webhook?: WebhookPort;
  /** Every audit entry once stored (the composition root publishes it on the live feed). */
  onAudit?: (entry: AuditEntry) => void;
}

/** Store an audit entry, then hand it, as the API shows it, to onAudit. */
export async function recordAudit(o: Pick<WorkerOptions, 'store' | 'onAudit'>, entry: NewAuditEntry): Promise<void> {
  publishAudit(o, entry, await o.store.appendAudit(entry));
}

/** Hands a stored audit entry (its id `id`), as the API shows it, to onAudit. */
function publishAudit(o: Pick<WorkerOptions, 'onAudit'>, entry: NewAuditEntry, id: number): void {
  if (!o.onAudit) return;
  const { cooldownKey: _key, ...shown } = entry;
  o.onAudit({ ...shown, id, at: new Date(entry.at).toISOString() });
}

/** A stored decision (audit id `id`) goes out: on the live feed, in the metrics, and in the log (unless `log` is null). */
export function reportDecision(o: Pick<WorkerOptions, 'onAudit' | 'metrics'>, log: Logger | null, entry: NewAuditEntry, id: number): void {
  publishAudit(o, entry, id);
  o.metrics?.onDecision(entry.action, entry.outcome, entry.reason);
  if (!log) return;
  const level = entry.outcome === 'failed' || entry.outcome === 'escalated' ? 'warn' : 'info';
  log[level]({ requestId: entry.requestId, rule: entry.rule, action: entry.action, target: `${entry.namespace}/${entry.target}`, outcome: entry.outcome, reason: entry.reason }, entry.message);
}

/**
 * How a remediation pass that threw is logged. The term ending mid-pass (e.g. between two claim
 * batches, while decisions were held) is routine for a leader: what it held went back to the queue.
 */
export function logPassEnd(log: Logger, e: unknown): void {
  if (e instanceof NotLeaderError) log.info({ reason: e.message }, 'remediation pass ended with the term; undecided requests went back to the queue');
  else log.error({ err: e }, 'remediation pass failed');
}

/** Claimed requests go back to the queue undecided, due at once, the claim not counted as an attempt. Best effort: a claim also runs out. */
export async function handBack(o: Pick<WorkerOptions, 'store' | 'leader' | 'clock'>, log: Logger, requests: readonly RemediationRequest[], why: string): Promise<void> {
  for (const req of requests) {
    await o.store.finishRequest(req.id, o.leader.identity, { state: 'pending', nextAttemptAt: o.clock.now(), error: why, handedBack: true })
      .catch((e: unknown) => log.warn({ err: e, requestId: req.id }, 'could not hand a claimed request back'));
  }
}

/** Exponential backoff with ±20% jitter: base, 2×base, 4×base… capped. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}

/** How a failed action is handled, read from the error alone. */
export interface FailureVerdict {
  /** Named reason for the audit and the metric: `api-unreachable`, `conflict`, `api-503`, a receiver's reason, `internal`. */
  reason: string;
  /** May a later attempt succeed (back off and retry), or is the request done? */
  transient: boolean;
  /** The target vanished between verification and the write: nothing is left to fix. */
  targetGone: boolean;
  /** Neither an API answer nor an action's own verdict: a bug worth an error log. */
  unexpected: boolean;
}

export function readFailure(e: unknown): FailureVerdict {
  const api = isKubeApiError(e) ? e : null;
  if (api) {
    const reason = api.apiStatus === 0 ? 'api-unreachable' : api.apiStatus === 409 ? 'conflict' : `api-${api.apiStatus}`;
    return { reason, transient: api.transient, targetGone: api.apiStatus === 404, unexpected: false };
  }
  // A webhook receiver's answer (retried only when it may succeed later), or a change the API accepted
  // that the live object does not show (never retried).
  if (e instanceof WebhookCallError || e instanceof ActionIneffectiveError) {
    return { reason: e.reason, transient: e.transient, targetGone: false, unexpected: false };
  }
  return { reason: 'internal', transient: true, targetGone: false, unexpected: true };
}

export const cooldownKey = (rule: string, action: ActionName, namespace: string, target: string): string =>
  `${rule}|${action}|${namespace}/${target}`;

/**
 * A writer that asks the leader before every mutating call, so a deposed leader stops mid-action, and
 * again as the request is sent (CallOptions.guard), so a leader frozen in between does not act late.
 */
export function guardedWriter(kube: KubeWriter, leader: Leadership): KubeWriter {
  const call = { guard: () => leader.assertLeading() };
  return {
    deletePod: (ns, name, opts) => { leader.assertLeading(); return kube.deletePod(ns, name, opts, call); },
    patchWorkload: (kind, ns, name, patch) => { leader.assertLeading(); return kube.patchWorkload(kind, ns, name, patch, call); },
    createEvent: (ns, e) => { leader.assertLeading(); return kube.createEvent(ns, e, call); },
  };
}

/** The guards' input: the request's base plus the live annotations and the store's counts. */
export async function gatherGuardInput(o: Pick<WorkerOptions, 'store' | 'kube' | 'attemptWindowMs'>, base: GuardInput, key: string, target: ResolvedTarget | null): Promise<GuardInput> {
  const { store, kube } = o;
  const now = base.now;
  const ns = target && kube ? await kube.getNamespace(base.namespace) : null;
  // The opt-out may sit on the workload or, via its pod template, on the pods themselves.
  const chain = [target?.workload, target?.replicaSet, target?.pod].filter((x) => x !== null && x !== undefined);
  const annotated = chain.find((x) => hasOptOut(x.meta.annotations)) ?? chain[0];
  return {
    ...base,
    target: target?.display ?? base.target,
    namespaceAnnotations: ns?.meta.annotations ?? {},
    workloadAnnotations: annotated?.meta.annotations ?? {},
    ...await store.guardHistory({
      cooldownKey: key, includeDryRun: base.settings.dryRun, actedSince: now - HOUR_MS, attemptsSince: now - (o.attemptWindowMs ?? HOUR_MS),
    }),
  };
}

/** Records a KubeSentinelRemediation Event, best effort: the decision is already audited. */
export async function recordEvent(o: Pick<WorkerOptions, 'kube' | 'leader' | 'clock'>, log: Logger, on: NewEvent['involvedObject'], type: NewEvent['type'], message: string): Promise<void> {
  if (!o.kube) return;
  try {
    await guardedWriter(o.kube, o.leader).createEvent(on.namespace, {
      involvedObject: on, reason: OWN_EVENT_REASON, type, message: `Kube Sentinel: ${message}`.slice(0, 1024),
      at: o.clock.now(), reportingInstance: o.leader.identity,
    });
  } catch (e) {
    log.warn({ err: e, on }, 'could not record the Kubernetes Event');
  }
}

/** One request on its way through the worker. */
export interface Decision {
  req: RemediationRequest;
  target: string;
  key: string;
  /** Set when an earlier intent was settled as not landed: the new plan must be that same change. */
  retried: Expectation | null;
  /**
   * Intents settled as not landed stay OPEN until the retry's own intent is committed: were this
   * leader to die in between, its successor must still see them (a stale write may yet land).
   */
  retriedIds: number[];
  /** It had open intents when it came up: its decision is recorded at once, never held. */
  hadIntents?: boolean;
}

/** A request as it starts through the worker: its display target and cooldown key. */
export function decisionFor(req: RemediationRequest): Decision {
  const target = signalDisplay(req);
  return { req, target, key: cooldownKey(req.rule, req.action, req.namespace, target), retried: null, retriedIds: [] };
}

/** A change found on the live object: what to audit, where the Event goes, what the outcome check expects. */
export interface Landing {
  message: string;
  target: ResolvedTarget | null;
  expect: Expectation;
  /** The rule's remediation.verify window (looked up when absent). */
  verifyMs?: number;
  plan?: Extract<Plan, { kind: 'act' }>;
}

/** What decideAndAct has learned so far about one request. */
export interface Known {
  base: GuardInput;
  facts: Facts;
  target: ResolvedTarget | null;
  plan: Plan | null;
}

/**
 * Pure: how long the worker waits after a pass before a wake may start the next one. After a pass
 * that decided nothing, none: the first request after a quiet spell is taken at once. After a pass
 * that decided any, `gapMs` (capped at the poll interval), even when woken meanwhile. In an ingest
 * storm every committed batch wakes the leader; without the gap it claimed each new request at once,
 * so the next group about the same target found it claimed and queued another (request sharing,
 * src/store/request-sharing.ts, shares only pending requests), and every one of them cost a claim, a
 * decision and its audit entry (issue #12: in the bench's storm of new alerts, PostgreSQL's backends
 * spent 368 µs per alert with the default rules against 220 without remediation). With the gap, a
 * target's groups share one request per gap.
 */
export function passGapMs(decided: number, gapMs: number, pollMs: number): number {
  return decided > 0 ? Math.max(0, Math.min(gapMs, pollMs)) : 0;
}
