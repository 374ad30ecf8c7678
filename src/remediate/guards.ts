// Safety guards: pure functions over data gathered beforehand (settings, store counters, annotations),
// each returning a verdict with a named reason that goes to the audit trail, logs and metrics.
// Order matters: dry-run is checked LAST so that a dry run walks every other guard and "would act"
// means exactly "every real guard passed".
import type { Settings } from '../store/types.ts';

export const GUARD_REASONS = [
  'disabled', 'excluded-namespace', 'opted-out', 'max-attempts', 'cooldown', 'budget-exhausted', 'dry-run',
] as const;
export type GuardReason = (typeof GUARD_REASONS)[number];

export type Verdict = { ok: true } | { ok: false; reason: GuardReason; detail: string };

const OPT_OUT_ANNOTATION = 'kube-sentinel.io/remediation';
export const HOUR_MS = 3_600_000;

export interface GuardInput {
  settings: Settings;
  /** Config list plus the server's own namespace (see excludedNamespaces()). */
  excludedNamespaces: readonly string[];
  namespace: string;
  namespaceAnnotations: Record<string, string>;
  /** Annotations of the resolved workload; the worker passes the pod's or ReplicaSet's instead when those opt out. */
  workloadAnnotations: Record<string, string>;
  target: string;
  now: number;
  cooldownMs: number;
  /** Last acted (or, in dry-run, would-act) time for the cooldown key. */
  lastActionAt: number | null;
  /** `acted` entries in the last hour, all workloads (sliding window). */
  actedLastHour: number;
  /** `acted`/`failed` entries for this cooldown key in the attempt window. */
  attempts: number;
  maxAttempts: number;
}

const pass: Verdict = { ok: true };
const fail = (reason: GuardReason, detail: string): Verdict => ({ ok: false, reason, detail });

/** The server never remediates the system namespaces or itself, whatever the config says. */
export function excludedNamespaces(configured: readonly string[], ownNamespace: string | null): string[] {
  return [...new Set([...configured, ...(ownNamespace ? [ownNamespace] : [])])];
}

const guardEnabled = (i: GuardInput): Verdict =>
  i.settings.enabled ? pass : fail('disabled', 'remediation is disabled in settings');

const guardNamespace = (i: GuardInput): Verdict =>
  i.excludedNamespaces.includes(i.namespace) ? fail('excluded-namespace', `namespace ${i.namespace || '(none)'} is excluded from remediation`) : pass;

export const hasOptOut = (annotations: Record<string, string>): boolean =>
  (annotations[OPT_OUT_ANNOTATION] ?? '').trim().toLowerCase() === 'disabled';

function guardOptOut(i: GuardInput): Verdict {
  if (hasOptOut(i.namespaceAnnotations)) return fail('opted-out', `namespace ${i.namespace} has ${OPT_OUT_ANNOTATION}: disabled`);
  if (hasOptOut(i.workloadAnnotations)) return fail('opted-out', `${i.target} has ${OPT_OUT_ANNOTATION}: disabled`);
  return pass;
}

const guardMaxAttempts = (i: GuardInput): Verdict =>
  i.attempts >= i.maxAttempts
    ? fail('max-attempts', `${i.target} was already remediated ${i.attempts} time(s) within the attempt window (max ${i.maxAttempts}); a human should look`)
    : pass;

function guardCooldown(i: GuardInput): Verdict {
  if (i.lastActionAt === null || i.cooldownMs <= 0) return pass;
  const left = i.lastActionAt + i.cooldownMs - i.now;
  return left > 0 ? fail('cooldown', `last action on ${i.target} ${Math.round((i.now - i.lastActionAt) / 1000)}s ago; cooldown ends in ${Math.ceil(left / 1000)}s`) : pass;
}

const guardBudget = (i: GuardInput): Verdict =>
  i.actedLastHour >= i.settings.maxActionsPerHour
    ? fail('budget-exhausted', `${i.actedLastHour} action(s) in the last hour; max_actions_per_hour is ${i.settings.maxActionsPerHour}`)
    : pass;

const guardDryRun = (i: GuardInput): Verdict =>
  i.settings.dryRun ? fail('dry-run', 'dry-run is on: every guard passed, would act') : pass;

/** Guards that need nothing from the cluster: checked before any API read. */
export const PREFLIGHT_GUARDS = [guardEnabled, guardNamespace] as const;
export const ALL_GUARDS = [guardEnabled, guardNamespace, guardOptOut, guardMaxAttempts, guardCooldown, guardBudget, guardDryRun] as const;

/** `force` (POST /api/errors/:id/remediate) skips the cooldown and the hourly budget, nothing else. */
export function guardsFor(opts: { force: boolean }): ReadonlyArray<(i: GuardInput) => Verdict> {
  return opts.force ? ALL_GUARDS.filter((g) => g !== guardCooldown && g !== guardBudget) : ALL_GUARDS;
}

/** The first failing verdict, or pass. */
export function evaluate(guards: ReadonlyArray<(i: GuardInput) => Verdict>, input: GuardInput): Verdict {
  for (const g of guards) {
    const v = g(input);
    if (!v.ok) return v;
  }
  return pass;
}
