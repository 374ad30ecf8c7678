// The remediation worker: while this replica leads, claim due requests from the store (claims are
// exclusive, so no request runs twice), gather what the guards need, evaluate them, verify the live
// state through the action's plan, act, and audit every decision. Transient API failures go back to
// `pending` with exponential backoff; after max_attempts the request is escalated to a human.
import { OWN_EVENT_REASON, type ActionName } from '../domain/types.ts';
import type { RemediationRequest, Settings, Store } from '../store/types.ts';
import { ACTION_REGISTRY } from './actions/index.ts';
import type { Plan } from './actions/types.ts';
import { ActionIneffectiveError, eventObjectFor } from './actions/types.ts';
import { ALL_GUARDS, HOUR_MS, PREFLIGHT_GUARDS, evaluate, hasOptOut, type GuardInput } from './guards.ts';
import { isKubeApiError, type KubeGateway, type KubeWriter, type NewEvent } from './kube.ts';
import { NotLeaderError, type Leadership } from './leader.ts';
import { silentLogger, type Logger, type RemediationMetrics, type Sleep } from './ports.ts';
import { resolveTarget, signalDisplay, type ResolvedTarget } from './target.ts';

export const EVENT_REASON = OWN_EVENT_REASON;

export interface WorkerOptions {
  store: Store;
  /** null: no cluster configured — dry-run records "would act" unverified, real runs skip. */
  kube: KubeGateway | null;
  leader: Leadership;
  /** Settings when the store has none yet (from config.remediation). */
  defaults: Settings;
  excludedNamespaces: readonly string[];
  maxAttempts: number;
  now: () => number;
  sleep: Sleep;
  random: () => number;
  logger?: Logger;
  metrics?: RemediationMetrics;
  pollIntervalMs?: number;
  /** How long a claim lasts; must exceed the longest action (API timeouts are 10s per call). */
  claimMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Window over which acted/failed entries per workload count toward max_attempts. */
  attemptWindowMs?: number;
}

/** Exponential backoff with ±20% jitter: base, 2×base, 4×base… capped. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}

export const cooldownKey = (rule: string, action: ActionName, namespace: string, target: string): string =>
  `${rule}|${action}|${namespace}/${target}`;

/** A writer that asks the leader before every mutating call, so a deposed leader stops mid-action. */
export function guardedWriter(kube: KubeWriter, leader: Leadership): KubeWriter {
  return {
    deletePod: (ns, name, opts) => { leader.assertLeading(); return kube.deletePod(ns, name, opts); },
    patchWorkload: (kind, ns, name, patch) => { leader.assertLeading(); return kube.patchWorkload(kind, ns, name, patch); },
    createEvent: (ns, e) => { leader.assertLeading(); return kube.createEvent(ns, e); },
  };
}

interface Decision {
  req: RemediationRequest;
  target: string;
  key: string;
}

export class RemediationWorker {
  private readonly o: WorkerOptions;
  private readonly log: Logger;
  private readonly stopping = new AbortController();
  private waker = new AbortController();
  private loop: Promise<void> | null = null;
  private draining: Promise<number> | null = null;

  constructor(opts: WorkerOptions) {
    this.o = opts;
    this.log = opts.logger ?? silentLogger;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.waker.abort();
    await this.loop;
    await this.draining;
  }

  /** Look for work now (after ingest commits a request, on NOTIFY, on becoming leader). */
  wake(): void {
    this.waker.abort();
  }

  private async run(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      await this.runOnce().catch((e) => this.log.error({ err: e }, 'remediation pass failed'));
      if (this.stopping.signal.aborted) return;
      const w = this.waker;
      if (!w.signal.aborted) await this.o.sleep(this.o.pollIntervalMs ?? 5_000, w.signal);
      if (this.waker === w) this.waker = new AbortController();
    }
  }

  /** Process due requests until none is left (or leadership/stop ends it); returns how many. */
  runOnce(): Promise<number> {
    this.draining ??= this.drain().finally(() => { this.draining = null; });
    return this.draining;
  }

  private async drain(): Promise<number> {
    let n = 0;
    while (!this.stopping.signal.aborted && this.o.leader.isLeader()) {
      const req = await this.o.store.claimRequest(this.o.leader.identity, this.o.now(), this.o.claimMs ?? 120_000);
      if (!req) break;
      n++;
      const keepGoing = await this.process(req);
      if (!keepGoing) break;
    }
    return n;
  }

  private async settings(): Promise<Settings> {
    return (await this.o.store.getSettings()) ?? this.o.defaults;
  }

  /** Returns false when the worker should stop draining (leadership lost). */
  private async process(req: RemediationRequest): Promise<boolean> {
    const d: Decision = { req, target: signalDisplay(req), key: '' };
    d.key = cooldownKey(req.rule, req.action, req.namespace, d.target);
    try {
      await this.decideAndAct(d);
      return true;
    } catch (e) {
      if (e instanceof NotLeaderError) {
        // Not a decision: hand the request back at once for whoever leads now.
        await this.o.store.finishRequest(req.id, this.o.leader.identity, { state: 'pending', nextAttemptAt: this.o.now(), error: e.message });
        this.log.warn({ requestId: req.id }, 'leadership lost during remediation; request returned to the queue');
        return false;
      }
      await this.failed(d, e);
      return true;
    }
  }

  private async decideAndAct(d: Decision): Promise<void> {
    const { req } = d;
    const now = this.o.now();
    const settings = await this.settings();
    const base: GuardInput = {
      settings, excludedNamespaces: this.o.excludedNamespaces, namespace: req.namespace, namespaceAnnotations: {},
      workloadAnnotations: {}, target: d.target, now, cooldownMs: req.cooldownMs, lastActionAt: null, actedLastHour: 0,
      attempts: 0, maxAttempts: this.o.maxAttempts,
    };
    if (req.action === 'none') return this.finish(d, 'skipped', 'no-action', 'the rule has no remediation action');
    const pre = evaluate(PREFLIGHT_GUARDS, base);
    if (!pre.ok) return this.finish(d, 'skipped', pre.reason, pre.detail);

    const kube = this.o.kube;
    let target: ResolvedTarget | null = null;
    if (kube) {
      const r = await resolveTarget(kube, req);
      if (!r.ok) return this.finish(d, 'skipped', r.reason, r.detail);
      target = r.target;
      d.target = target.display;
      d.key = cooldownKey(req.rule, req.action, req.namespace, d.target);
    }
    const input = await this.gather(base, d.key, target);
    const verdict = evaluate(ALL_GUARDS, input);
    if (!verdict.ok && verdict.reason === 'max-attempts') return this.escalate(d, verdict.detail, target);
    if (!verdict.ok && verdict.reason !== 'dry-run') return this.finish(d, 'skipped', verdict.reason, verdict.detail);

    if (!kube || !target) {
      return verdict.ok
        ? this.finish(d, 'skipped', 'no-cluster', 'no Kubernetes cluster is configured; cannot act')
        : this.finish(d, 'dry-run', 'no-cluster', `would ${req.action} ${d.target || '(unknown target)'}; live state not verified: no cluster configured`);
    }
    const plan = await ACTION_REGISTRY[req.action].plan({ kube, target, params: req.params, container: req.container, now });
    if (plan.kind === 'skip') return this.finish(d, 'skipped', plan.reason, plan.detail);
    if (!verdict.ok) return this.finish(d, 'dry-run', 'dry-run', `would ${plan.summary}`);
    await this.act(d, plan, kube);
  }

  private async gather(base: GuardInput, key: string, target: ResolvedTarget | null): Promise<GuardInput> {
    const { store, kube } = this.o;
    const now = base.now;
    const ns = target && kube ? await kube.getNamespace(base.namespace) : null;
    // The opt-out may sit on the workload or, via its pod template, on the pods themselves.
    const chain = [target?.workload, target?.replicaSet, target?.pod].filter((o) => o !== null && o !== undefined);
    const annotated = chain.find((o) => hasOptOut(o.meta.annotations)) ?? chain[0];
    return {
      ...base,
      target: target?.display ?? base.target,
      namespaceAnnotations: ns?.meta.annotations ?? {},
      workloadAnnotations: annotated?.meta.annotations ?? {},
      lastActionAt: await store.lastActionAt(key, base.settings.dryRun),
      actedLastHour: await store.countActedSince(now - HOUR_MS),
      attempts: await store.countAttemptsSince(key, now - (this.o.attemptWindowMs ?? HOUR_MS)),
    };
  }

  private async act(d: Decision, plan: Extract<Plan, { kind: 'act' }>, kube: KubeGateway): Promise<void> {
    const writer = guardedWriter(kube, this.o.leader);
    const signal = this.o.leader.signal;
    if (signal.aborted) throw new NotLeaderError('term ended before acting');
    const message = await plan.run(writer);
    await this.finish(d, 'acted', '', message);
    await this.event(writer, plan.eventOn, plan.eventType, message);
  }

  private async event(writer: KubeWriter, on: NewEvent['involvedObject'], type: NewEvent['type'], message: string): Promise<void> {
    try {
      await writer.createEvent(on.namespace, {
        involvedObject: on, reason: EVENT_REASON, type, message: `Kube Sentinel: ${message}`.slice(0, 1024),
        at: this.o.now(), reportingInstance: this.o.leader.identity,
      });
    } catch (e) {
      // The action already happened and is audited; a missing Event is not worth a retry.
      this.log.warn({ err: e, on }, 'could not record the Kubernetes Event');
    }
  }

  private async failed(d: Decision, e: unknown): Promise<void> {
    const { req } = d;
    const api = isKubeApiError(e) ? e : null;
    const msg = e instanceof Error ? e.message : String(e);
    // Accepted by the API but not in effect on the live object: audited as failed, never retried.
    if (e instanceof ActionIneffectiveError) {
      await this.audit(d, 'failed', e.reason, msg);
      return this.close(d, { state: 'done', error: `${e.reason}: ${msg}` });
    }
    const reason = api ? (api.apiStatus === 0 ? 'api-unreachable' : api.apiStatus === 409 ? 'conflict' : `api-${api.apiStatus}`) : 'internal';
    if (!api) this.log.error({ err: e, requestId: req.id }, 'remediation failed unexpectedly');
    // The object vanished between verification and the write: nothing is left to fix.
    if (api?.apiStatus === 404) return this.finish(d, 'skipped', 'target-gone', msg);
    const transient = api?.transient ?? true;
    if (transient && req.attempts >= this.o.maxAttempts) {
      return this.escalate(d, `gave up after ${req.attempts} attempt(s); last error (${reason}): ${msg}`, null);
    }
    await this.audit(d, 'failed', reason, msg);
    const result = transient
      ? { state: 'pending' as const, nextAttemptAt: this.o.now() + backoffMs(req.attempts, this.o.backoffBaseMs ?? 10_000, this.o.backoffMaxMs ?? 600_000, this.o.random), error: `${reason}: ${msg}` }
      : { state: 'done' as const, error: `${reason}: ${msg}` };
    await this.close(d, result);
  }

  private async escalate(d: Decision, why: string, target: ResolvedTarget | null): Promise<void> {
    const message = `${d.req.action} on ${d.target || 'its target'} needs a human: ${why}. Kube Sentinel will not retry this request.`;
    await this.audit(d, 'escalated', 'max-attempts', message);
    await this.close(d, { state: 'escalated', error: message });
    const on = target && eventObjectFor(target);
    const settings = await this.settings();
    if (on && this.o.kube && !settings.dryRun) await this.event(guardedWriter(this.o.kube, this.o.leader), on, 'Warning', message);
  }

  /** Audit one decision and close the request as done. */
  private async finish(d: Decision, outcome: 'acted' | 'dry-run' | 'skipped', reason: string, message: string): Promise<void> {
    await this.audit(d, outcome, reason, message);
    await this.close(d, { state: 'done' });
  }

  private async close(d: Decision, result: Parameters<Store['finishRequest']>[2]): Promise<void> {
    const ok = await this.o.store.finishRequest(d.req.id, this.o.leader.identity, result);
    // Our claim expired and another leader took the request over; its decision stands.
    if (!ok) this.log.warn({ requestId: d.req.id, state: result.state }, 'request was no longer claimed by this replica');
  }

  private async audit(d: Decision, outcome: 'acted' | 'dry-run' | 'skipped' | 'failed' | 'escalated', reason: string, message: string): Promise<void> {
    const { req } = d;
    await this.o.store.appendAudit({
      requestId: req.id, groupId: req.groupId, at: this.o.now(), rule: req.rule, action: req.action, namespace: req.namespace,
      target: d.target, outcome, reason, message, actor: this.o.leader.identity, cooldownKey: d.key,
    });
    this.o.metrics?.onDecision(req.action, outcome, reason);
    const level = outcome === 'failed' || outcome === 'escalated' ? 'warn' : 'info';
    this.log[level]({ requestId: req.id, rule: req.rule, action: req.action, target: `${req.namespace}/${d.target}`, outcome, reason }, message);
  }
}
