// Settling an intent (DESIGN §6a): a leader that finds an open intent — written by a crashed or
// deposed predecessor, or by itself before an ambiguous failure — decides from the LIVE object whether
// the change landed. Pure: the shell (settle.ts) reads the facts, this decides with a named reason.
// Exactly-once rests on three things together: the intent is committed before the call, every call is
// conditional (resourceVersion for patches, uid for deletes) so a late write from a stale leader fails
// instead of stacking, and a retry is only made when the live state still equals the intent's BEFORE.
import { createHash } from 'node:crypto';
import type { Expectation } from '../store/types.ts';

/** What the live object shows, reduced to what settling needs. */
export type LiveFacts =
  | { kind: 'gone' }
  | { kind: 'workload'; uid: string; replicas: number | null; templateHash: string }
  | { kind: 'pod'; uid: string; terminating: boolean; failing: boolean }
  /** For pods-deleted: which of the intent's pod uids still exist. */
  | { kind: 'pods'; remaining: string[] };

export const SETTLE_REASONS = [
  'landed', 'not-landed', 'target-gone', 'target-replaced', 'target-changed', 'pod-healthy', 'facts-mismatch',
] as const;
type SettleReason = (typeof SETTLE_REASONS)[number];

export type Settlement =
  | { verdict: 'landed'; reason: 'landed'; detail: string }
  | { verdict: 'retry'; reason: 'not-landed'; detail: string }
  | { verdict: 'skip'; reason: Exclude<SettleReason, 'landed' | 'not-landed'>; detail: string };

const landed = (detail: string): Settlement => ({ verdict: 'landed', reason: 'landed', detail });
const retry = (detail: string): Settlement => ({ verdict: 'retry', reason: 'not-landed', detail });
const skip = (reason: Exclude<SettleReason, 'landed' | 'not-landed'>, detail: string): Settlement => ({ verdict: 'skip', reason, detail });

type Intent<K extends Expectation['kind']> = { expect: Extract<Expectation, { kind: K }>; targetUid: string };

/** The workload checks both workload intents start with: still there, still the same object. */
function sameWorkload(intent: { targetUid: string }, live: LiveFacts, noun: string): Settlement | null {
  if (live.kind === 'gone') return skip('target-gone', `the ${noun} no longer exists`);
  if (live.kind !== 'workload') return skip('facts-mismatch', `expected workload facts, got ${live.kind}`);
  if (live.uid !== intent.targetUid) return skip('target-replaced', `the ${noun} was recreated (uid ${live.uid}, intent was for ${intent.targetUid})`);
  return null;
}

function settleReplicas(intent: Intent<'replicas'>, live: LiveFacts): Settlement {
  const e = intent.expect;
  const early = sameWorkload(intent, live, 'workload');
  if (early || live.kind !== 'workload') return early!;
  if (live.replicas === e.after) return landed(`replicas are ${e.after}: the change ${e.before}→${e.after} landed`);
  if (live.replicas === e.before) return retry(`replicas are still ${e.before}: the change ${e.before}→${e.after} did not land`);
  return skip('target-changed', `replicas are now ${live.replicas}, neither ${e.before} nor ${e.after}: someone else changed them`);
}

function settleTemplate(intent: Intent<'template'>, live: LiveFacts): Settlement {
  const e = intent.expect;
  const early = sameWorkload(intent, live, 'Deployment');
  if (early || live.kind !== 'workload') return early!;
  if (live.templateHash === e.afterHash) return landed(`the pod template is the rollback target (${e.afterHash})`);
  if (live.templateHash === e.beforeHash) return retry(`the pod template is still ${e.beforeHash}: the rollback did not land`);
  return skip('target-changed', `the pod template is now ${live.templateHash}, neither ${e.beforeHash} nor ${e.afterHash}`);
}

function settlePodDeleted(e: Extract<Expectation, { kind: 'pod-deleted' }>, live: LiveFacts): Settlement {
  // The pod we meant is gone, or another object now carries its name: the delete (or something) landed.
  if (live.kind === 'gone') return landed(`pod ${e.podName} is gone`);
  if (live.kind !== 'pod') return skip('facts-mismatch', `expected pod facts, got ${live.kind}`);
  if (live.uid !== e.podUid) return landed(`pod ${e.podName} was replaced (uid ${live.uid})`);
  if (live.terminating) return landed(`pod ${e.podName} is terminating`);
  if (!live.failing) return skip('pod-healthy', `pod ${e.podName} recovered by itself; no restart needed`);
  return retry(`pod ${e.podName} (uid ${e.podUid}) is still running and failing`);
}

function settlePodsDeleted(e: Extract<Expectation, { kind: 'pods-deleted' }>, live: LiveFacts): Settlement {
  if (live.kind === 'gone') return landed('every pod is gone');
  if (live.kind !== 'pods') return skip('facts-mismatch', `expected pod list facts, got ${live.kind}`);
  if (live.remaining.length === 0) return landed(`all ${e.pods.length} stuck pod(s) are gone`);
  return retry(`${live.remaining.length} of ${e.pods.length} stuck pod(s) remain`);
}

/** Decide an open intent against live facts about its target (`targetUid` is the intent's target uid). */
export function settleIntent(intent: { expect: Expectation; targetUid: string }, live: LiveFacts): Settlement {
  const e = intent.expect;
  switch (e.kind) {
    case 'replicas': return settleReplicas({ expect: e, targetUid: intent.targetUid }, live);
    case 'template': return settleTemplate({ expect: e, targetUid: intent.targetUid }, live);
    case 'pod-deleted': return settlePodDeleted(e, live);
    case 'pods-deleted': return settlePodsDeleted(e, live);
    case 'webhook':
      // A receiver cannot be asked whether the POST arrived; sending it again under the same delivery
      // id is safe for a receiver that deduplicates by X-Kube-Sentinel-Delivery.
      return retry(`the POST to webhook receiver ${e.receiver} cannot be confirmed; sending it again as ${e.deliveryId}`);
  }
}

/**
 * A retry re-plans from fresh state; it must make the SAME change the settled intent described. If a
 * stale leader's write landed between the settle read and the re-plan, the fresh plan starts where the
 * intent ended: that is the old change landing late, not a reason to act again.
 */
export function compareRetry(settled: Expectation, fresh: Expectation): 'same' | 'landed-meanwhile' | 'changed' {
  if (settled.kind === 'replicas' && fresh.kind === 'replicas') {
    if (fresh.before === settled.before && fresh.after === settled.after) return 'same';
    return fresh.before === settled.after ? 'landed-meanwhile' : 'changed';
  }
  if (settled.kind === 'template' && fresh.kind === 'template') {
    if (fresh.beforeHash === settled.beforeHash && fresh.afterHash === settled.afterHash) return 'same';
    return fresh.beforeHash === settled.afterHash ? 'landed-meanwhile' : 'changed';
  }
  if (settled.kind === 'pod-deleted' && fresh.kind === 'pod-deleted') return fresh.podUid === settled.podUid ? 'same' : 'landed-meanwhile';
  if (settled.kind === 'pods-deleted' && fresh.kind === 'pods-deleted') return 'same';
  if (settled.kind === 'webhook' && fresh.kind === 'webhook') return fresh.deliveryId === settled.deliveryId ? 'same' : 'changed';
  return 'changed';
}

/** Canonical JSON (sorted keys) so equal templates hash equally whatever the key order on the wire. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** A short, stable hash of a pod template (what "template hash" means in an intent). */
export const templateHash = (template: Record<string, unknown>): string =>
  createHash('sha256').update(canonical(template)).digest('hex').slice(0, 16);

/** The change in words for the intent log and the dashboard: "replicas 3→4". */
export function describeExpectation(e: Expectation): string {
  switch (e.kind) {
    case 'replicas': return `replicas ${e.before}→${e.after}`;
    case 'template': return `template ${e.beforeHash}→${e.afterHash}`;
    case 'pod-deleted': return `pod ${e.podName} (uid ${e.podUid}) deleted`;
    case 'pods-deleted': return `${e.pods.length} pod(s) deleted: ${e.pods.map((p) => p.name).join(', ')}`;
    case 'webhook': return `POST to webhook receiver ${e.receiver} (delivery ${e.deliveryId})`;
  }
}
