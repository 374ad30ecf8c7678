// The remediation decision as a pure function over gathered facts. The worker is a thin shell around
// it: it calls decide(), and while the answer is `need`, gathers exactly that fact (resolving the target,
// reading the suspension, store counters and annotations for the guards, planning against the live
// object) and asks again. So the order of checks — and which API reads a request costs — lives here,
// testable without a cluster or a store.
import type { ActionName } from '../domain/types.ts';
import type { Verdict } from './guards.ts';
import type { SkipReason } from './reasons.ts';

export type Step = 'target' | 'suspension' | 'guards' | 'plan';

export interface Facts {
  action: ActionName;
  /** A human approved this request, or queued it by hand: no approval needed, suspension does not apply. */
  humanDecided: boolean;
  /** Rule `remediation.approval: required` or the `requireApproval` setting. */
  approvalRequired: boolean;
  cluster: boolean;
  /** Enabled and namespace guards: need nothing from the cluster. */
  preflight: Verdict;
  target?: { ok: true } | { ok: false; reason: SkipReason; detail: string };
  /** The active suspension's reason for (rule, workload), or null. */
  suspension?: string | null;
  guards?: Verdict;
  plan?: { kind: 'skip'; reason: SkipReason; detail: string } | { kind: 'act'; summary: string };
}

export type Decision =
  | { kind: 'need'; step: Step }
  | { kind: 'skip'; reason: SkipReason; detail: string }
  | { kind: 'suspended'; detail: string }
  | { kind: 'escalate'; detail: string }
  | { kind: 'dry-run'; reason: 'dry-run' | 'no-cluster'; detail: string }
  | { kind: 'await-approval'; plan: string }
  | { kind: 'act' };

const need = (step: Step): Decision => ({ kind: 'need', step });

export function decide(f: Facts): Decision {
  if (f.action === 'none') return { kind: 'skip', reason: 'no-action', detail: 'the rule has no remediation action' };
  if (!f.preflight.ok) return { kind: 'skip', reason: f.preflight.reason, detail: f.preflight.detail };
  if (f.cluster) {
    if (f.target === undefined) return need('target');
    if (!f.target.ok) return { kind: 'skip', reason: f.target.reason, detail: f.target.detail };
  }
  if (f.suspension === undefined) return need('suspension');
  // A suspension stops AUTO-actions; a human's approval or explicit request is the escalation answered.
  if (f.suspension !== null && !f.humanDecided) return { kind: 'suspended', detail: f.suspension };
  if (f.guards === undefined) return need('guards');
  return withGuards(f, f.guards);
}

/** The rest of decide(), once the guards have been evaluated. */
function withGuards(f: Facts, g: NonNullable<Facts['guards']>): Decision {
  if (!g.ok && g.reason === 'max-attempts') return { kind: 'escalate', detail: g.detail };
  if (!g.ok && g.reason !== 'dry-run') return { kind: 'skip', reason: g.reason, detail: g.detail };
  if (!f.cluster) {
    return g.ok
      ? { kind: 'skip', reason: 'no-cluster', detail: 'no Kubernetes cluster is configured; cannot act' }
      : { kind: 'dry-run', reason: 'no-cluster', detail: `would ${f.action}; live state not verified: no cluster configured` };
  }
  if (f.plan === undefined) return need('plan');
  if (f.plan.kind === 'skip') return { kind: 'skip', reason: f.plan.reason, detail: f.plan.detail };
  if (!g.ok) return { kind: 'dry-run', reason: 'dry-run', detail: `would ${f.plan.summary}` };
  if (f.approvalRequired && !f.humanDecided) return { kind: 'await-approval', plan: `would ${f.plan.summary}` };
  return { kind: 'act' };
}
