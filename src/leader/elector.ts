// Lease-based leader election with client-go's loop shape (tools/leaderelection): acquire with a
// jittered retry (bounded so a takeover lands within lease_duration + retry_period: candidateWait),
// renew every retry period, and stop leading — at once, with an abort for in-flight work — when no
// renewal succeeded within the renew deadline. Pure record logic is in record.ts.
import { AppError } from '../domain/errors.ts';
import type { CallOptions, LeaseClient, LeaseSpec } from './lease.ts';
import {
  checkTimings, decide, initialSpec, isLeaseValid, candidateWait, observe, releaseSpec, renewSpec,
  type ElectionTimings, type Observation,
} from './record.ts';
import { silentLogger, type Clock, type Logger } from '../domain/ports.ts';

/** Thrown by assertLeading(): the caller must not make its mutating call. */
export class NotLeaderError extends AppError {
  constructor(detail: string) {
    super('internal', `not the leader: ${detail}`);
    this.name = 'NotLeaderError';
  }
}

export interface LeaderStatus {
  enabled: boolean;
  identity: string;
  isLeader: boolean;
  /** Holder seen in the Lease ('' when free or unknown). */
  observedHolder: string;
  leaseTransitions: number;
  lastRenewAt: number | null;
  /** Set when this replica lost leadership because it could not renew: /healthz reports it. */
  renewFailedAt: number | null;
  healthy: boolean;
}

/** What the worker and the app need from leadership, with or without a Lease behind it. */
export interface Leadership {
  readonly identity: string;
  isLeader(): boolean;
  /** Cheap local check before every mutating call; throws NotLeaderError. */
  assertLeading(): void;
  /** Aborted when the current term ends; an already-aborted signal when not leading. */
  readonly signal: AbortSignal;
  status(): LeaderStatus;
  start(): void;
  /** Stop campaigning; a Lease holder releases it (client-go ReleaseOnCancel). */
  stop(): Promise<void>;
  /** Calls `fn` at the start of every term (the worker wakes on it). */
  onStartedLeading(fn: () => void): void;
}

const aborted = (): AbortSignal => AbortSignal.abort(new NotLeaderError('not leading'));

/** Single replica, no election: leads from start() until stop(). */
export class StaticLeadership implements Leadership {
  readonly identity: string;
  private term: AbortController | null = null;
  private readonly listeners: Array<() => void> = [];
  private readonly metrics?: LeaderMetrics;
  constructor(opts: { identity: string; metrics?: LeaderMetrics }) {
    this.identity = opts.identity;
    this.metrics = opts.metrics;
  }
  isLeader(): boolean { return this.term !== null; }
  assertLeading(): void { if (!this.term) throw new NotLeaderError('stopped'); }
  get signal(): AbortSignal { return this.term?.signal ?? aborted(); }
  onStartedLeading(fn: () => void): void { this.listeners.push(fn); }
  start(): void {
    if (this.term) return;
    this.term = new AbortController();
    this.metrics?.setLeader(true);
    for (const fn of this.listeners) fn();
  }
  async stop(): Promise<void> {
    this.term?.abort(new NotLeaderError('stopping'));
    this.term = null;
    this.metrics?.setLeader(false);
  }
  status(): LeaderStatus {
    return { enabled: false, identity: this.identity, isLeader: this.isLeader(), observedHolder: this.isLeader() ? this.identity : '', leaseTransitions: 0, lastRenewAt: null, renewFailedAt: null, healthy: true };
  }
}

/** Implemented by the composition root with prom-client. */
export interface LeaderMetrics {
  /** 1 while this replica holds the Lease, 0 otherwise. */
  setLeader(isLeader: boolean): void;
  /** Each time this replica gains or loses leadership. */
  onLeaderTransition?(event: 'started' | 'stopped', reason: string): void;
}

export interface LeaderElectorOptions extends ElectionTimings {
  client: LeaseClient;
  namespace: string;
  name: string;
  identity: string;
  clock: Clock;
  random: () => number;
  logger?: Logger;
  metrics?: LeaderMetrics;
  onStartedLeading?: (signal: AbortSignal) => void;
  onStoppedLeading?: (reason: string) => void;
}

export class LeaderElector implements Leadership {
  readonly identity: string;
  private readonly o: LeaderElectorOptions;
  private readonly log: Logger;
  private readonly durationSeconds: number;
  private observed: Observation | null = null;
  private lastRenewAt: number | null = null;
  private renewFailedAt: number | null = null;
  private term: AbortController | null = null;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | null = null;
  private readonly listeners: Array<() => void> = [];

  constructor(opts: LeaderElectorOptions) {
    const problems = checkTimings(opts);
    if (problems.length) throw new AppError('internal', `leader election: ${problems.map((p) => `${p.key} ${p.message}`).join('; ')}`);
    this.o = opts;
    this.identity = opts.identity;
    this.log = opts.logger ?? silentLogger;
    this.durationSeconds = Math.max(1, Math.ceil(opts.leaseDurationMs / 1000));
  }

  isLeader(): boolean {
    return this.term !== null && this.observed?.spec.holderIdentity === this.identity &&
      this.lastRenewAt !== null && this.o.clock.now() < this.lastRenewAt + this.o.renewDeadlineMs;
  }

  assertLeading(): void {
    if (this.isLeader()) return;
    throw new NotLeaderError(this.term === null ? 'not leading' : 'lease not renewed within the renew deadline');
  }

  get signal(): AbortSignal {
    return this.term?.signal ?? aborted();
  }

  status(): LeaderStatus {
    return {
      enabled: true, identity: this.identity, isLeader: this.isLeader(),
      observedHolder: this.observed?.spec.holderIdentity ?? '', leaseTransitions: this.observed?.spec.leaseTransitions ?? 0,
      lastRenewAt: this.lastRenewAt, renewFailedAt: this.renewFailedAt, healthy: this.renewFailedAt === null,
    };
  }

  start(): void {
    this.loop ??= this.run().catch((e) => this.log.error({ err: e }, 'leader election loop crashed'));
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    if (this.term) this.stopLeading('stopping');
    await this.release();
  }

  /**
   * One attempt, as client-go's tryAcquireOrRenew: a leader first renews optimistically with the
   * cached resourceVersion; otherwise (or if that fails) read, create if missing, and take the lease
   * only if it is free, ours, or expired by our local clock. Returns true when we hold it now.
   * `call` bounds the attempt: its signal cancels it, its guard is re-checked as each write is sent.
   */
  async tryAcquireOrRenew(call?: CallOptions): Promise<boolean> {
    const { client, namespace, name } = this.o;
    const now = this.o.clock.now();
    const obs = this.observed;
    if (obs && obs.spec.holderIdentity === this.identity && isLeaseValid(obs, now)) {
      try {
        const l = await client.updateLease(namespace, name, renewSpec(obs, this.identity, this.durationSeconds, now), obs.resourceVersion, call);
        this.succeeded(l.spec, l.resourceVersion, now);
        return true;
      } catch (e) {
        this.log.debug({ err: e }, 'optimistic lease renewal failed, reading the lease');
      }
    }
    try {
      const current = await client.getLease(namespace, name, call);
      if (!current) {
        const l = await client.createLease(namespace, name, initialSpec(this.identity, this.durationSeconds, now), call);
        this.succeeded(l.spec, l.resourceVersion, now);
        return true;
      }
      this.observed = observe(this.observed, current.spec, current.resourceVersion, this.o.clock.now());
      const d = decide(this.observed, this.identity, this.durationSeconds, now);
      if (d.kind === 'held') return false;
      const l = await client.updateLease(namespace, name, d.spec, current.resourceVersion, call);
      this.succeeded(l.spec, l.resourceVersion, now);
      return true;
    } catch (e) {
      this.log.debug({ err: e }, 'lease acquire/renew attempt failed');
      return false;
    }
  }

  private succeeded(spec: LeaseSpec, resourceVersion: string, at: number): void {
    this.observed = { spec, resourceVersion, observedAt: at };
    this.lastRenewAt = at;
  }

  /**
   * An attempt bounded by `ms` of the injected clock: the call is aborted when time runs out, and a
   * Lease write not yet sent by then is not sent at all (a renewal from a process that was frozen past
   * its renew deadline would otherwise reach the API server when it resumes).
   */
  private async attemptWithin(ms: number): Promise<boolean> {
    const ctl = new AbortController();
    const timer = new AbortController();
    const sendBy = this.o.clock.now() + ms;
    const guard = (): void => {
      if (this.o.clock.now() >= sendBy) throw new NotLeaderError('the lease attempt outlived its bound before it was sent');
    };
    const timedOut = this.o.clock.sleep(ms, AbortSignal.any([timer.signal, this.stopping.signal])).then(() => false);
    try {
      return await Promise.race([this.tryAcquireOrRenew({ signal: ctl.signal, guard }), timedOut]);
    } finally {
      timer.abort();
      ctl.abort();
    }
  }

  private async run(): Promise<void> {
    const stop = this.stopping.signal;
    while (!stop.aborted) {
      // Acquire: retry at most every retry period, and exactly when the observed lease expires.
      while (!stop.aborted && !(await this.attemptWithin(this.o.renewDeadlineMs))) {
        await this.o.clock.sleep(candidateWait(this.o.retryPeriodMs, this.o.random, this.observed, this.identity, this.o.clock.now()), stop);
      }
      if (stop.aborted) return;
      this.startLeading();
      const reason = await this.renewLoop();
      if (reason === 'stopping') return;
      this.stopLeading(reason);
    }
  }

  /** Renew every retry period until a round fails to succeed before the renew deadline. */
  private async renewLoop(): Promise<string> {
    const stop = this.stopping.signal;
    for (;;) {
      await this.o.clock.sleep(this.o.retryPeriodMs, stop);
      for (;;) {
        if (stop.aborted) return 'stopping';
        const remaining = (this.lastRenewAt ?? 0) + this.o.renewDeadlineMs - this.o.clock.now();
        if (remaining <= 0) return 'failed to renew within the renew deadline';
        if (await this.attemptWithin(remaining)) break;
        if (this.observed && this.observed.spec.holderIdentity !== this.identity)
          return `lease taken by ${this.observed.spec.holderIdentity || 'nobody'}`;
        const left = (this.lastRenewAt ?? 0) + this.o.renewDeadlineMs - this.o.clock.now();
        if (left <= 0) return 'failed to renew within the renew deadline';
        await this.o.clock.sleep(Math.min(this.o.retryPeriodMs, left), stop);
      }
    }
  }

  private startLeading(): void {
    this.term = new AbortController();
    this.renewFailedAt = null;
    this.log.info({ identity: this.identity, lease: `${this.o.namespace}/${this.o.name}` }, 'became leader');
    this.o.metrics?.setLeader(true);
    this.o.metrics?.onLeaderTransition?.('started', '');
    this.o.onStartedLeading?.(this.term.signal);
    for (const fn of this.listeners) fn();
  }

  onStartedLeading(fn: () => void): void {
    this.listeners.push(fn);
  }

  private stopLeading(reason: string): void {
    const term = this.term;
    this.term = null;
    if (reason !== 'stopping') this.renewFailedAt = this.o.clock.now();
    term?.abort(new NotLeaderError(reason));
    this.log.warn({ identity: this.identity, reason }, 'stopped leading');
    this.o.metrics?.setLeader(false);
    this.o.metrics?.onLeaderTransition?.('stopped', reason);
    this.o.onStoppedLeading?.(reason);
  }

  private async release(): Promise<void> {
    const obs = this.observed;
    if (!obs || obs.spec.holderIdentity !== this.identity) return;
    try {
      // Release what the server holds, not the cached record: a renewal that stop() cut short may have
      // landed unseen (a stale version earns a 409 and a full lease wait), and a deposed leader must not write.
      const cur = await this.o.client.getLease(this.o.namespace, this.o.name);
      if (!cur || cur.spec.holderIdentity !== this.identity) return;
      const l = await this.o.client.updateLease(this.o.namespace, this.o.name, releaseSpec({ ...obs, spec: cur.spec }, this.o.clock.now()), cur.resourceVersion);
      this.observed = { spec: l.spec, resourceVersion: l.resourceVersion, observedAt: this.o.clock.now() };
      this.log.info({ identity: this.identity }, 'released the lease');
    } catch (e) {
      this.log.warn({ err: e }, 'could not release the lease; followers take over when it expires');
    }
  }
}
