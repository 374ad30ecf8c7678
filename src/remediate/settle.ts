// The imperative half of settling (the decision is intent.ts): read the live object an intent names,
// reduced to the facts settleIntent() needs. Reads only — a leader settles before it writes anything.
import type { Intent } from '../store/types.ts';
import { templateHash, type LiveFacts } from './intent.ts';
import { WORKLOAD_KINDS, type KubeReader, type WorkloadKind } from './kube.ts';
import { podFailure } from './pod-health.ts';

const isWorkloadKind = (k: string): k is WorkloadKind => (WORKLOAD_KINDS as readonly string[]).includes(k);

export async function readLive(kube: KubeReader, intent: Intent, container: string): Promise<LiveFacts> {
  const e = intent.expect;
  const ns = intent.namespace;
  switch (e.kind) {
    case 'replicas':
    case 'template': {
      if (!isWorkloadKind(intent.targetKind)) return { kind: 'gone' };
      const w = await kube.getWorkload(intent.targetKind, ns, intent.targetName);
      return w ? { kind: 'workload', uid: w.meta.uid, replicas: w.replicas, templateHash: templateHash(w.template) } : { kind: 'gone' };
    }
    case 'pod-deleted': {
      const p = await kube.getPod(ns, e.podName);
      return p
        ? { kind: 'pod', uid: p.meta.uid, terminating: p.meta.deletionTimestamp !== null, failing: podFailure(p, container) !== null }
        : { kind: 'gone' };
    }
    case 'webhook':
      // Nothing to read: settleIntent decides a webhook intent without live facts.
      return { kind: 'gone' };
    case 'pods-deleted': {
      const remaining: string[] = [];
      for (const want of e.pods) {
        const p = await kube.getPod(ns, want.name);
        if (p && p.meta.uid === want.uid) remaining.push(want.uid);
      }
      return { kind: 'pods', remaining };
    }
  }
}
