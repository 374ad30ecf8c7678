// Pure parts of leader election, after client-go tools/leaderelection/leaderelection.go.
// A lease is judged by the LOCAL clock: `observedAt` is when this process last saw the record change,
// never the holder's renewTime, so clock skew between replicas cannot make two leaders.
import type { LeaseSpec } from './lease.ts';

export interface Observation {
  spec: LeaseSpec;
  resourceVersion: string;
  /** Local time at which this record (its spec) was first seen. */
  observedAt: number;
}

const sameRecord = (a: LeaseSpec, b: LeaseSpec): boolean =>
  a.holderIdentity === b.holderIdentity && a.leaseDurationSeconds === b.leaseDurationSeconds &&
  a.acquireTime === b.acquireTime && a.renewTime === b.renewTime && a.leaseTransitions === b.leaseTransitions;

/** client-go isLeaseValid: observedTime + leaseDurationSeconds is still in the future. */
export const isLeaseValid = (obs: Observation, now: number): boolean =>
  obs.observedAt + obs.spec.leaseDurationSeconds * 1000 > now;

/** Refresh the observation only when the record changed (client-go compares the raw record). */
export function observe(prev: Observation | null, spec: LeaseSpec, resourceVersion: string, now: number): Observation {
  if (prev && sameRecord(prev.spec, spec)) return { ...prev, resourceVersion };
  return { spec, resourceVersion, observedAt: now };
}

export type LeaseDecision =
  | { kind: 'take'; spec: LeaseSpec; reason: 'renew' | 'acquire-empty' | 'acquire-expired' }
  | { kind: 'held'; holder: string };

/**
 * Step 3–4 of tryAcquireOrRenew, given the freshly read record already folded into `obs`: keep out while
 * another holder's lease is valid; otherwise write ourselves in, keeping acquireTime and transitions
 * when renewing and counting a transition when taking over.
 */
export function decide(obs: Observation, identity: string, leaseDurationSeconds: number, now: number): LeaseDecision {
  const holder = obs.spec.holderIdentity;
  const iHold = holder === identity;
  if (holder !== '' && !iHold && isLeaseValid(obs, now)) return { kind: 'held', holder };
  if (iHold) {
    return {
      kind: 'take', reason: 'renew',
      spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: obs.spec.acquireTime ?? now, renewTime: now, leaseTransitions: obs.spec.leaseTransitions },
    };
  }
  return {
    kind: 'take', reason: holder === '' ? 'acquire-empty' : 'acquire-expired',
    spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: obs.spec.leaseTransitions + 1 },
  };
}

/** The record a brand-new Lease starts with. */
export const initialSpec = (identity: string, leaseDurationSeconds: number, now: number): LeaseSpec =>
  ({ holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 });

/** The optimistic renewal a current leader sends without reading first (client-go's fast path). */
export const renewSpec = (obs: Observation, identity: string, leaseDurationSeconds: number, now: number): LeaseSpec =>
  ({ holderIdentity: identity, leaseDurationSeconds, acquireTime: obs.spec.acquireTime ?? now, renewTime: now, leaseTransitions: obs.spec.leaseTransitions });

/** ReleaseOnCancel: empty holder and a 1s duration so followers take over at once. */
export const releaseSpec = (obs: Observation, now: number): LeaseSpec =>
  ({ holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: obs.spec.leaseTransitions });

export interface ElectionTimings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/**
 * client-go NewLeaderElector's invariants, the one statement of them: the config schema reports them
 * against its keys, the elector refuses to start without them. Empty when valid.
 */
export function checkTimings(t: ElectionTimings): Array<{ key: 'lease_duration' | 'renew_deadline' | 'retry_period'; message: string }> {
  const problems: Array<{ key: 'lease_duration' | 'renew_deadline' | 'retry_period'; message: string }> = [];
  if (t.leaseDurationMs <= t.renewDeadlineMs) problems.push({ key: 'lease_duration', message: 'must be greater than renew_deadline' });
  if (t.renewDeadlineMs <= 1.2 * t.retryPeriodMs) problems.push({ key: 'renew_deadline', message: 'must be greater than 1.2 × retry_period' });
  if (t.retryPeriodMs < 1) problems.push({ key: 'retry_period', message: 'must be positive' });
  return problems;
}

/**
 * How long a candidate waits before its next attempt. client-go waits retryPeriod × [1, 2.2); a
 * follower then notices a renewal, and later the expiry, up to 2.2 × retryPeriod late each, so a
 * SIGKILLed leader is replaced anywhere up to lease_duration + 4.4 × retry_period. Here the jitter
 * stays (candidates do not fall into step) but within [retryPeriod/2, retryPeriod], and the attempt
 * is made exactly at the observed expiry when that comes first: takeover ≤ lease_duration + retry_period.
 * Safety is unchanged: expiry is still judged by the local clock from when the renewal was seen.
 */
export function candidateWait(retryPeriodMs: number, random: () => number, obs: Observation | null, identity: string, now: number): number {
  const jittered = retryPeriodMs * (0.5 + 0.5 * random());
  if (!obs || obs.spec.holderIdentity === '' || obs.spec.holderIdentity === identity) return jittered;
  const untilExpiry = obs.observedAt + obs.spec.leaseDurationSeconds * 1000 - now;
  return untilExpiry >= 0 && untilExpiry < jittered ? untilExpiry + 1 : jittered;
}

const SUFFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** POD_NAME plus a random suffix, so a restarted pod with the same name is a new candidate. */
export function makeIdentity(podName: string, random: () => number): string {
  const suffix = Array.from({ length: 8 }, () => SUFFIX_ALPHABET[Math.floor(random() * SUFFIX_ALPHABET.length) % SUFFIX_ALPHABET.length]).join('');
  return `${podName || 'kube-sentinel'}_${suffix}`;
}
