// Outcome verification pass (DESIGN §6a), run by the leader's worker between requests: for every open
// verification, read the target and the group, judge (outcome.ts), and record the outcome as an audit
// row (which also becomes the group's lastOutcome and a /ws message) and a metric. After
// max_ineffective ineffective outcomes in a row for one (rule, workload), suspend and escalate.
import type { AuditEntry, GroupCount, RemediationRequest, Store, Verification } from '../store/types.ts';
import { involved } from './actions/types.ts';
import { WORKLOAD_KINDS, type KubeGateway, type NewEvent, type WorkloadKind } from './kube.ts';
import type { Clock, Logger } from '../domain/ports.ts';
import type { Leadership } from '../leader/index.ts';
import { recordAudit } from './worker-support.ts';
import { countNow, countThen, judgeOutcome, shouldSuspend } from './outcome.ts';
import type { RemediationMetrics } from './ports.ts';

export interface VerifyDeps {
  store: Store;
  kube: KubeGateway | null;
  leader: Leadership;
  clock: Clock;
  onAudit?: (entry: AuditEntry) => void;
  maxIneffective: number;
  /** True once the worker is stopping: a graceful shutdown must not wait for a whole pass. */
  stopped: () => boolean;
  logger: Logger;
  metrics?: RemediationMetrics;
  /** Called before a verdict is written (the worker records the decisions it holds first, keeping the audit in order). */
  beforeWrite?: () => Promise<void>;
  /** Records a Kubernetes Event (best effort): the Warning on the workload when a suspension escalates. */
  event(on: NewEvent['involvedObject'], type: NewEvent['type'], message: string): Promise<void>;
}

const isWorkloadKind = (k: string): k is WorkloadKind => (WORKLOAD_KINDS as readonly string[]).includes(k);

/** `Deployment/web` → its kind and name when it names a workload. */
function workloadOf(target: string): { kind: WorkloadKind; name: string } | null {
  const i = target.indexOf('/');
  const kind = target.slice(0, i);
  return i > 0 && isWorkloadKind(kind) ? { kind, name: target.slice(i + 1) } : null;
}

/**
 * What an outcome check compares against, read when the action was taken: the group's count and, for
 * a restart, the counts of the rule's other groups about the same pod. Those include every group that
 * shares the request (request-sharing.ts: sharers have the rule and the pod in common), so the problem
 * coming back in any of them (another alert, the pod's log lines, its Events) makes the restart
 * ineffective, not only a recurrence in the group that queued the request.
 */
export async function verificationBaseline(store: Pick<Store, 'groupCounts' | 'groupsAbout'>,
  req: Pick<RemediationRequest, 'groupId' | 'action' | 'rule' | 'namespace' | 'pod'>): Promise<{ groupCount: number; others: GroupCount[] }> {
  const [group] = await store.groupCounts([req.groupId]);
  const others = req.action === 'restart-pod' && req.pod !== ''
    ? await store.groupsAbout({ rule: req.rule, namespace: req.namespace, pod: req.pod, except: req.groupId })
    : [];
  return { groupCount: group?.count ?? 0, others };
}

async function facts(d: VerifyDeps, v: Verification) {
  const kube = d.kube!;
  const ref = workloadOf(v.target);
  // Before its deadline a restart can only be judged by a recurrence: the workload read can wait.
  const early = v.action === 'restart-pod' && d.clock.now() < v.deadline;
  const w = ref && !early ? await kube.getWorkload(ref.kind, v.namespace, ref.name) : null;
  let podsRemaining = 0;
  if (v.expect.kind === 'pods-deleted') {
    for (const p of v.expect.pods) {
      const live = await kube.getPod(v.namespace, p.name);
      if (live && live.meta.uid === p.uid) podsRemaining++;
    }
  }
  // The group's count and the others' in one read (getGroup would also read the group's row and audit trail).
  const counts = new Map((await d.store.groupCounts([v.groupId, ...v.others.map((o) => o.groupId)])).map((g) => [g.groupId, g.count]));
  return {
    now: d.clock.now(),
    workload: w ? { replicas: w.replicas, status: w.status ?? { generation: 0, observedGeneration: 0, readyReplicas: 0, availableReplicas: 0, updatedReplicas: 0 } } : null,
    hadWorkload: ref !== null && !early,
    groupCount: countNow(v, counts.get(v.groupId), counts),
    podsRemaining,
  };
}

/** Checks every open verification once; returns how many were decided. */
export async function verifyPass(d: VerifyDeps, only: (v: Verification) => boolean = () => true): Promise<number> {
  if (!d.kube) return 0;
  let decided = 0;
  for (const v of (await d.store.openVerifications()).filter(only)) {
    if (!d.leader.isLeader() || d.stopped()) break;
    const verdict = judgeOutcome({ ...v, groupCount: countThen(v) }, await facts(d, v));
    if (verdict.outcome === 'wait') continue;
    await d.beforeWrite?.();
    if (!(await d.store.closeVerification(v.id, verdict.outcome, d.clock.now()))) continue;
    decided++;
    const base = {
      requestId: v.requestId, groupId: v.groupId, at: d.clock.now(), rule: v.rule, action: v.action, namespace: v.namespace,
      target: v.target, actor: d.leader.identity, cooldownKey: v.cooldownKey,
    };
    await recordAudit(d, { ...base, outcome: verdict.outcome, reason: verdict.reason, message: `${v.action} on ${v.target}: ${verdict.detail}` });
    d.metrics?.onOutcome?.(v.action, verdict.outcome);
    d.logger.info({ requestId: v.requestId, target: `${v.namespace}/${v.target}`, outcome: verdict.outcome, reason: verdict.reason }, verdict.detail);
    if (verdict.outcome === 'ineffective') await maybeSuspend(d, v, base);
  }
  return decided;
}

async function maybeSuspend(d: VerifyDeps, v: Verification, base: Omit<Parameters<Store['appendAudit']>[0], 'outcome' | 'reason' | 'message'>): Promise<void> {
  const since = (await d.store.lastLiftedAt(v.rule, v.namespace, v.target)) ?? 0;
  const recent = await d.store.recentOutcomes(v, since, d.maxIneffective);
  if (!shouldSuspend(recent, d.maxIneffective)) return;
  if (await d.store.activeSuspension(v.rule, v.namespace, v.target)) return;
  const reason = `${d.maxIneffective} ineffective outcome(s) in a row for rule ${v.rule} on ${v.namespace}/${v.target}`;
  const s = await d.store.suspend({ rule: v.rule, namespace: v.namespace, target: v.target, reason, at: d.clock.now() });
  const message = `auto-remediation suspended (suspension ${s.id}): ${reason}; a human should look, then lift it (DELETE /api/suspensions/${s.id})`;
  await recordAudit(d, { ...base, at: d.clock.now(), outcome: 'escalated', reason: 'ineffective', message });
  d.logger.warn({ suspension: s.id, rule: v.rule, target: `${v.namespace}/${v.target}` }, message);
  const ref = workloadOf(v.target);
  const w = ref && d.kube ? await d.kube.getWorkload(ref.kind, v.namespace, ref.name) : null;
  if (w) await d.event(involved(w.kind, w.meta), 'Warning', message);
}
