// The remediation worker: while this replica leads, claim due requests from the store (a batch per
// commit; claims are exclusive, so no request runs twice), settle any open intent on them against the
// live object, then let the pure decision (decide.ts) drive which facts to gather, and apply its
// verdict: act (intent first, in its own commit), wait for approval, skip, escalate. Every decision is
// audited. Transient API failures go back to `pending` with exponential backoff; after max_attempts a
// human is asked. Each new term takes over earlier holders' claims at once: the intent log makes that safe.
import { DEFAULT_VERIFY_MS } from '../classify/schema.ts';
import type { NewAuditEntry, RemediationRequest, Settings, Store, Verification } from '../store/types.ts';
import { ACTION_REGISTRY } from './actions/index.ts';
import { eventObjectFor, type Plan } from './actions/types.ts';
import { decide, type Decision as Verdict, type Facts, type Step } from './decide.ts';
import { ALL_GUARDS, HOUR_MS, PREFLIGHT_GUARDS, evaluate, guardsFor, type GuardInput } from './guards.ts';
import { compareRetry, describeExpectation, settleIntent } from './intent.ts';
import { silentLogger, wakeSleeper, type Logger } from '../domain/ports.ts';
import { NotLeaderError } from '../leader/index.ts';
import { VERIFIED_ACTIONS } from './outcome.ts';
import { readLive } from './settle.ts';
import { resolveTarget, type ResolvedTarget } from './target.ts';
import { verificationBaseline, verifyPass } from './verify.ts';
import { HeldDecisions } from './decided.ts';
import {
  backoffMs, cooldownKey, decisionFor, gatherGuardInput, guardedWriter, handBack, logPassEnd, passGapMs, readFailure, recordEvent, reportDecision,
  type Decision, type Known, type Landing, type RuleLookup, type WorkerOptions,
} from './worker-support.ts';

export type { RuleLookup, WorkerOptions };
export { backoffMs, cooldownKey };

type Outcome = 'acted' | 'dry-run' | 'skipped' | 'failed' | 'escalated' | 'awaiting-approval';
/** Requests claimed in one commit while working through the queue. */
const CLAIM_BATCH = 32;

export class RemediationWorker {
  private readonly o: WorkerOptions;
  private readonly log: Logger;
  private readonly stopping = new AbortController();
  private waker = new AbortController();
  private loop: Promise<void> | null = null;
  private draining: Promise<number> | null = null;
  /** The term whose predecessors' claims were taken over. */
  private term: AbortSignal | null = null;
  /** Outcome checks read the cluster: at most one pass per verifyEveryMs, however often ingest wakes us. */
  private lastVerifyAt = -Infinity;
  /** Skips and dry-runs waiting for their one commit. */
  private readonly held: HeldDecisions;
  private readonly claimMs: number;

  constructor(opts: WorkerOptions) {
    this.o = opts;
    this.log = opts.logger ?? silentLogger;
    this.held = new HeldDecisions(opts, this.log);
    this.claimMs = opts.claimMs ?? 120_000;
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

  /** Look for work now (after ingest commits a request, on NOTIFY, on becoming leader), or after the gap (passGapMs). */
  wake(): void {
    wakeSleeper(this.waker);
  }

  private async run(): Promise<void> {
    const pollMs = this.o.pollIntervalMs ?? 5_000;
    while (!this.stopping.signal.aborted) {
      const decided = await this.runOnce().catch((e: unknown) => { logPassEnd(this.log, e); return 0; });
      if (this.stopping.signal.aborted) return;
      // A wake during the gap is kept (the waker stays aborted): the next pass starts when it ends.
      const gap = passGapMs(decided, this.o.passGapMs ?? 1_000, pollMs);
      if (gap > 0) await this.o.clock.sleep(gap, this.stopping.signal);
      const w = this.waker; // stop() aborts it too
      if (!w.signal.aborted) await this.o.clock.sleep(pollMs - gap, w.signal);
      if (this.waker === w) this.waker = new AbortController();
    }
  }

  /** Process due requests until a claim comes back short (or leadership/stop ends it); returns how many. */
  runOnce(): Promise<number> {
    this.draining ??= this.drain().finally(() => { this.draining = null; });
    return this.draining;
  }

  private async drain(): Promise<number> {
    let n = 0;
    const { store, leader } = this.o;
    if (!leader.isLeader() || this.stopping.signal.aborted) return 0;
    const queue: RemediationRequest[] = [];
    if (this.term !== leader.signal) {
      // New term: whatever earlier holders had claimed is ours now; each is settled before acting.
      this.term = leader.signal;
      const taken = await store.takeOverClaims(leader.identity, this.o.clock.now(), this.claimMs);
      if (taken.length > 0) this.log.info({ requests: taken.map((r) => r.id) }, 'took over claims of earlier leaders');
      queue.push(...taken);
    }
    for (const r of await store.expireApprovals(this.o.clock.now())) {
      await this.audit(decisionFor(r), 'expired', 'approval-ttl', `no decision within the approval window; the request expired (plan: ${r.plan ?? ''})`);
    }
    await this.verify();
    try {
      // A short claim ends the pass once its queue is done: what ingest queues meanwhile waits (passGapMs).
      for (let more = true; !this.stopping.signal.aborted && leader.isLeader();) {
        if (queue.length === 0 && more) {
          await this.held.nextBatch();
          const claimed = await store.claimRequests(leader.identity, this.o.clock.now(), this.claimMs, CLAIM_BATCH);
          more = claimed.length === CLAIM_BATCH;
          queue.push(...claimed);
        }
        const req = queue.shift();
        if (!req) break;
        if (req.claimedUntil !== null && this.o.clock.now() > req.claimedUntil) { // slow actions ahead of it: claim afresh
          await handBack(this.o, this.log, [req, ...queue.splice(0)], 'its claim ran out before its turn');
          more = true;
          continue;
        }
        n++;
        if (!(await this.process(req))) break;
      }
      await this.held.nextBatch().catch((e: unknown) => { if (!(e instanceof NotLeaderError)) throw e; });
    } finally {
      // Claimed but not decided, or decided but not recorded (the term or the worker ended first).
      await handBack(this.o, this.log, [...this.held.release(), ...queue.splice(0)], 'the leader stopped before deciding it');
    }
    return n;
  }

  /** All open outcome checks (at most once per verifyEveryMs), or, with `only`, those at once. */
  private async verify(only?: (v: Verification) => boolean): Promise<number> {
    if (!only) {
      if (this.o.clock.now() - this.lastVerifyAt < (this.o.verifyEveryMs ?? 2_000)) return 0;
      this.lastVerifyAt = this.o.clock.now();
    }
    return verifyPass({
      store: this.o.store, kube: this.o.kube, leader: this.o.leader, clock: this.o.clock, logger: this.log, metrics: this.o.metrics,
      maxIneffective: this.o.maxIneffective ?? 2, event: (on, type, message) => recordEvent(this.o, this.log, on, type, message),
      stopped: () => this.stopping.signal.aborted, onAudit: this.o.onAudit, beforeWrite: () => this.held.record(),
    }, only);
  }

  private settings = async (): Promise<Settings> => (await this.o.store.getSettings()) ?? this.o.defaults;

  /** Returns false when the worker should stop draining (leadership lost). */
  private async process(req: RemediationRequest): Promise<boolean> {
    const d = decisionFor(req);
    try {
      if (await this.settleOpenIntents(d)) return true;
      await this.decideAndAct(d);
      // Decided without acting (skip, approval, suspension…): the retried intents end with that decision.
      await this.closeRetried(d, 'skipped', 'not-landed-not-retried');
      return true;
    } catch (e) {
      if (e instanceof NotLeaderError) {
        // Not a decision: hand the request back at once for whoever leads now. An open intent stays
        // open: the next leader settles it against the live object.
        await this.o.store.finishRequest(req.id, this.o.leader.identity, { state: 'pending', nextAttemptAt: this.o.clock.now(), error: e.message });
        this.log.warn({ requestId: req.id }, 'leadership lost during remediation; request returned to the queue');
        return false;
      }
      try {
        await this.failed(d, e);
      } catch (again) {
        if (again instanceof NotLeaderError) return false;
        throw again;
      }
      return true;
    }
  }

  /** Settles open intents (DESIGN §6a); true when that finished the request. */
  private async settleOpenIntents(d: Decision): Promise<boolean> {
    const { store, kube, leader } = this.o;
    const open = await store.openIntents(d.req.id);
    if (open.length === 0 || !kube) return false;
    d.hadIntents = true;
    for (const [i, intent] of open.entries()) {
      const s = settleIntent(intent, await readLive(kube, intent, d.req.container));
      if (!d.target) d.target = `${intent.targetKind}/${intent.targetName}`;
      this.log.info({ requestId: d.req.id, intent: intent.id, holder: intent.holder, verdict: s.verdict, reason: s.reason }, s.detail);
      if (s.verdict === 'retry') {
        d.retried = intent.expect;
        d.retriedIds.push(intent.id);
        continue;
      }
      // This and every later open intent of the request describe the same change: one verdict for all.
      const state = s.verdict === 'landed' ? 'done' as const : 'skipped' as const;
      for (const x of [...d.retriedIds.splice(0), ...open.slice(i).map((o) => o.id)]) {
        await store.closeIntent(x, { state, reason: s.reason, by: leader.identity, at: this.o.clock.now() });
      }
      // The audit names the workload as a normal decision would (when the pod is gone: what the signal named).
      const target = await resolveTarget(kube, d.req).catch(() => null);
      if (target?.ok) d.target = target.target.display;
      else if (intent.expect.kind === 'pod-deleted' && intent.expect.workload) d.target = intent.expect.workload;
      d.key = cooldownKey(d.req.rule, d.req.action, d.req.namespace, d.target);
      if (s.verdict === 'skip') {
        await this.finish(d, 'skipped', s.reason, `intent "${intent.summary}" of ${intent.holder}: ${s.detail}`);
        return true;
      }
      const message = `${intent.summary} (intent of ${intent.holder}) confirmed on the live object: ${s.detail}`;
      await this.landed(d, { message, target: target?.ok ? target.target : null, expect: intent.expect });
      return true;
    }
    return false;
  }

  private async decideAndAct(d: Decision): Promise<void> {
    const { req } = d;
    const now = this.o.clock.now();
    const settings = await this.settings();
    const rule = this.o.ruleOf?.(req.rule) ?? null;
    const base: GuardInput = {
      settings, excludedNamespaces: this.o.excludedNamespaces, namespace: req.namespace, namespaceAnnotations: {},
      workloadAnnotations: {}, target: d.target, now, cooldownMs: req.cooldownMs, lastActionAt: null, actedLastHour: 0,
      attempts: 0, maxAttempts: this.o.maxAttempts,
    };
    const facts: Facts = {
      action: req.action, humanDecided: req.approved || req.requestedBy !== null,
      approvalRequired: rule?.approval === 'required' || settings.requireApproval === true,
      cluster: this.o.kube !== null, preflight: evaluate(PREFLIGHT_GUARDS, base),
    };
    const known: Known = { base, facts, target: null, plan: null };
    for (let decision = decide(facts); ; decision = decide(facts)) {
      if (decision.kind !== 'need') return this.apply(d, decision, known);
      await this.learn(d, decision.step, known);
    }
  }

  /** Gathers the one fact decide() asked for (the I/O half of the loop above). */
  private async learn(d: Decision, step: Step, k: Known): Promise<void> {
    const { req } = d;
    const { kube, store } = this.o;
    if (step === 'target') {
      const r = await resolveTarget(kube!, req);
      k.facts.target = r.ok ? { ok: true } : r;
      if (!r.ok) return;
      k.target = r.target;
      d.target = r.target.display;
      d.key = cooldownKey(req.rule, req.action, req.namespace, d.target);
    } else if (step === 'suspension') {
      // Judge the earlier actions on this group or workload first: the occurrence that queued this
      // request may be the recurrence that makes the last one ineffective (and suspends this one).
      await this.verify((v) => v.groupId === req.groupId || (v.rule === req.rule && v.namespace === req.namespace && v.target === d.target));
      k.facts.suspension = (await store.activeSuspension(req.rule, req.namespace, d.target))?.reason ?? null;
    } else if (step === 'guards') {
      k.facts.guards = evaluate(req.force ? guardsFor({ force: true }) : ALL_GUARDS, await gatherGuardInput(this.o, k.base, d.key, k.target));
    } else {
      k.plan = await ACTION_REGISTRY[req.action].plan({ kube: kube!, target: k.target!, params: req.params, container: req.container, now: k.base.now, request: req, webhook: this.o.webhook });
      k.facts.plan = k.plan.kind === 'skip' ? k.plan : { kind: 'act', summary: k.plan.summary };
    }
  }

  /** Carries out decide()'s final verdict. */
  private async apply(d: Decision, decision: Exclude<Verdict, { kind: 'need' }>, k: Known): Promise<void> {
    const { req } = d;
    switch (decision.kind) {
      case 'skip': return this.finish(d, 'skipped', decision.reason, decision.detail);
      case 'suspended':
        await this.audit(d, 'skipped', 'suspended', `auto-remediation of ${d.target} under rule ${req.rule} is suspended: ${decision.detail}`);
        return this.close(d, { state: 'suspended', error: decision.detail });
      case 'escalate': return this.escalate(d, decision.detail, k.target);
      case 'dry-run': return this.finish(d, 'dry-run', decision.reason, decision.reason === 'no-cluster' ? `would ${req.action} ${d.target || '(unknown target)'}; live state not verified: no cluster configured` : decision.detail);
      case 'await-approval': {
        // One question per error group at a time: later occurrences do not pile up more approvals.
        const [waiting] = (await this.o.store.listRequests({ state: 'awaiting-approval', groupId: req.groupId, page: 1, pageSize: 1 })).requests;
        if (waiting) return this.finish(d, 'skipped', 'approval-pending', `request #${waiting.id} of this error already waits for approval: ${waiting.plan ?? ''}`);
        await this.audit(d, 'awaiting-approval', 'approval-required', decision.plan);
        return this.close(d, { state: 'awaiting-approval', plan: decision.plan, expiresAt: k.base.now + (this.o.approvalTtlMs ?? HOUR_MS) });
      }
      case 'act': return this.act(d, k.plan as Extract<Plan, { kind: 'act' }>, k.target!, this.verifyWindow(req.rule));
    }
  }

  /** remediation.verify of the rule; without a rule lookup (embedded, unit tests) outcomes are not checked. */
  private verifyWindow(rule: string): number {
    return this.o.ruleOf ? this.o.ruleOf(rule)?.verifyMs ?? DEFAULT_VERIFY_MS : 0;
  }

  private async act(d: Decision, plan: Extract<Plan, { kind: 'act' }>, target: ResolvedTarget, verifyMs: number): Promise<void> {
    const { store, leader, kube } = this.o;
    if (d.retried) {
      const same = compareRetry(d.retried, plan.intent.expect);
      if (same === 'landed-meanwhile') {
        await this.landed(d, { message: `${describeExpectation(d.retried)} landed late (a predecessor's write); not acting again`, target, expect: d.retried });
        return this.closeRetried(d, 'done', 'landed');
      }
      if (same === 'changed') return this.finish(d, 'skipped', 'target-changed', `the live state moved on since the intent (${describeExpectation(d.retried)}); now it would be ${describeExpectation(plan.intent.expect)}`);
    }
    if (leader.signal.aborted) throw new NotLeaderError('term ended before acting');
    // Also the local lease check: a leader frozen past its renew deadline writes no intent.
    leader.assertLeading();
    const writer = guardedWriter(kube!, leader);
    const intentId = await store.writeIntent({
      requestId: d.req.id, holder: leader.identity, action: d.req.action, namespace: d.req.namespace, ...plan.intent,
      summary: describeExpectation(plan.intent.expect), at: this.o.clock.now(),
    });
    await this.closeRetried(d, 'superseded', 'not-landed');
    let message: string;
    try {
      message = await plan.run(writer);
    } catch (e) {
      // A definitive answer (refused, or accepted without effect) closes the intent; anything ambiguous
      // (timeout, network, 5xx, 409 racing a stale leader) leaves it for the next settle.
      const f = readFailure(e);
      if (!f.transient) await store.closeIntent(intentId, { state: 'failed', reason: f.reason, by: leader.identity, at: this.o.clock.now() });
      throw e;
    }
    // A leader deposed while its call was in flight records nothing: its successor settles the intent.
    leader.assertLeading();
    // Audit and finish first: a crash before the intent is closed is settled as landed, not redone.
    await this.landed(d, { message, target, expect: plan.intent.expect, verifyMs, plan });
    await store.closeIntent(intentId, { state: 'done', reason: 'landed', by: leader.identity, at: this.o.clock.now() });
  }

  /** The change is on the live object: audit `acted`, schedule the outcome check, record the Event. */
  private async landed(d: Decision, l: Landing): Promise<void> {
    const { req } = d;
    const { message, target, expect, verifyMs, plan } = l;
    const window = verifyMs ?? this.verifyWindow(req.rule);
    await this.audit(d, 'acted', '', message);
    if (window > 0 && VERIFIED_ACTIONS.includes(req.action)) {
      const counted = await verificationBaseline(this.o.store, req);
      const now = this.o.clock.now();
      await this.o.store.scheduleVerification({
        requestId: req.id, groupId: req.groupId, rule: req.rule, action: req.action, namespace: req.namespace, target: d.target,
        cooldownKey: d.key, expect, ...counted, actedAt: now, deadline: now + window,
      });
    }
    await this.close(d, { state: 'done' });
    const on = plan?.eventOn ?? (target && eventObjectFor(target));
    if (on) await recordEvent(this.o, this.log, on, plan?.eventType ?? 'Normal', message);
  }

  private async closeRetried(d: Decision, state: 'done' | 'superseded' | 'skipped', reason: string): Promise<void> {
    for (const id of d.retriedIds.splice(0)) await this.o.store.closeIntent(id, { state, reason, by: this.o.leader.identity, at: this.o.clock.now() });
  }

  private async failed(d: Decision, e: unknown): Promise<void> {
    const { req } = d;
    const f = readFailure(e);
    const msg = e instanceof Error ? e.message : String(e);
    if (f.unexpected) this.log.error({ err: e, requestId: req.id }, 'remediation failed unexpectedly');
    if (f.targetGone) return this.finish(d, 'skipped', 'target-gone', msg);
    if (f.transient && req.attempts >= this.o.maxAttempts) {
      return this.escalate(d, `gave up after ${req.attempts} attempt(s); last error (${f.reason}): ${msg}`, null);
    }
    await this.audit(d, 'failed', f.reason, msg);
    const error = `${f.reason}: ${msg}`;
    const retryAt = () => this.o.clock.now() + backoffMs(req.attempts, this.o.backoffBaseMs ?? 10_000, this.o.backoffMaxMs ?? 600_000, this.o.random);
    await this.close(d, f.transient ? { state: 'pending', nextAttemptAt: retryAt(), error } : { state: 'done', error });
  }

  private async escalate(d: Decision, why: string, target: ResolvedTarget | null): Promise<void> {
    const message = `${d.req.action} on ${d.target || 'its target'} needs a human: ${why}. Kube Sentinel will not retry this request.`;
    await this.audit(d, 'escalated', 'max-attempts', message);
    await this.close(d, { state: 'escalated', error: message });
    const on = target && eventObjectFor(target);
    const settings = await this.settings();
    if (on && !settings.dryRun) await recordEvent(this.o, this.log, on, 'Warning', message);
  }

  /**
   * A decision that ends the request without acting: its audit entry and the request's end are held
   * and committed together with the decisions around it (decided.ts); a dry-run is committed at once,
   * since the cooldown counts it, and a cooldown skip is shared with the requests alike it. `acted`
   * goes through landed(): audit, outcome check, then close.
   */
  private finish(d: Decision, outcome: 'dry-run' | 'skipped', reason: string, message: string): Promise<void> {
    return this.held.hold(d, this.entry(d, outcome, reason, message), outcome === 'dry-run');
  }

  private async close(d: Decision, result: Parameters<Store['finishRequest']>[2]): Promise<void> {
    const ok = await this.o.store.finishRequest(d.req.id, this.o.leader.identity, result);
    // Our claim expired and another leader took the request over; its decision stands.
    if (!ok) this.log.warn({ requestId: d.req.id, state: result.state }, 'request was no longer claimed by this replica');
  }

  /** Records a decision, after the decisions held before it. */
  private async audit(d: Decision, outcome: Outcome | 'expired', reason: string, message: string): Promise<void> {
    const entry = this.entry(d, outcome, reason, message);
    await this.held.record();
    reportDecision(this.o, this.log, entry, await this.o.store.appendAudit(entry));
  }

  private entry(d: Decision, outcome: Outcome | 'expired', reason: string, message: string): NewAuditEntry {
    const { req } = d;
    // A replica that lost the Lease mid-request records nothing: its successor took the claim over
    // and decides (a frozen leader resuming must not add a stale `skipped` or a second `acted`).
    this.o.leader.assertLeading();
    return {
      requestId: req.id, groupId: req.groupId, at: this.o.clock.now(), rule: req.rule, action: req.action, namespace: req.namespace,
      target: d.target, outcome, reason, message, actor: this.o.leader.identity, cooldownKey: d.key,
    };
  }
}
