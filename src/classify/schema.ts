// rules.yaml schema: a strict superset of the original Kube Sentinel (Go) format, so an operator's
// existing file loads unchanged. Go's YAML decoder turned `null`/missing into zero values and accepted
// numbers where strings were declared; both are honoured here so nothing that loaded there fails here.
import { z } from 'zod';
import { parseDuration } from '../config/duration.ts';
import { ACTIONS, SOURCE_KINDS } from '../domain/types.ts';
import { ACTION_REGISTRY } from '../remediate/actions/index.ts';
import type { ActionName, Priority, SourceKind } from '../domain/types.ts';

/** Actions the original offered that this server deliberately does not run. */
const UNSUPPORTED_ACTIONS = ['exec-script', 'trigger-argo-workflow'] as const;

/** The original's default when a remediation has no (or a zero) cooldown. */
const DEFAULT_COOLDOWN_MS = 5 * 60_000;

const MATCHER_KEYS = ['pattern', 'keywords', 'labels', 'namespaces', 'sources', 'reasons'] as const;

const PRIORITY_ALIASES: Record<string, Priority> = {
  p1: 'P1', critical: 'P1',
  p2: 'P2', high: 'P2',
  p3: 'P3', medium: 'P3',
  p4: 'P4', low: 'P4',
};

/** P1..P4, p1..p4 or critical/high/medium/low in any case → P1..P4; null when unknown. */
function parsePriority(text: string): Priority | null {
  return Object.hasOwn(PRIORITY_ALIASES, text.toLowerCase()) ? PRIORITY_ALIASES[text.toLowerCase()] : null;
}

export interface RuleMatchSpec {
  pattern?: string;
  keywords?: string[];
  labels?: Record<string, string>;
  namespaces?: string[];
  sources?: SourceKind[];
  reasons?: string[];
}

interface RemediationSpec {
  action: ActionName;
  params: Record<string, string>;
  cooldownMs: number;
  /** `remediation.approval` (DESIGN §6a): `required` makes every action of the rule wait for a human. */
  approval?: 'required' | 'auto';
  /** `remediation.verify`: the window in which the outcome is checked after acting; 0 = off. */
  verifyMs?: number;
}

/** Default outcome-verification window (`remediation.verify`). */
export const DEFAULT_VERIFY_MS = 5 * 60_000;

export interface RuleSpec {
  name: string;
  match: RuleMatchSpec;
  priority: Priority;
  remediation: RemediationSpec | null;
  enabled: boolean;
}

export interface RulesDocument {
  rules: RuleSpec[];
}

// Go decoded `replicas: 3` into a string field as "3"; JSON bodies (POST /api/rules/test) do the same here.
const scalarText = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));

// Params are read as text by each action's schema (src/remediate/actions); a list or a mapping is none.
const paramValue = z.union([z.string(), z.number(), z.boolean()], { error: 'must be a single value (a string or a number), not a list or a mapping' })
  .transform((v) => String(v));

const nonEmptyList = <T extends z.ZodType>(item: T) =>
  z.array(item).nullish().transform((v) => (v && v.length > 0 ? v : undefined));

const matchSchema = z
  .strictObject({
    pattern: scalarText.nullish().transform((v) => (v ? v : undefined)),
    keywords: nonEmptyList(scalarText.refine((k) => k.length > 0, 'empty keyword would match everything')),
    labels: z
      .record(z.string(), scalarText)
      .nullish()
      .transform((v) => (v && Object.keys(v).length > 0 ? v : undefined)),
    namespaces: nonEmptyList(scalarText),
    sources: nonEmptyList(z.enum(SOURCE_KINDS, { error: `must be one of: ${SOURCE_KINDS.join(', ')}` })),
    reasons: nonEmptyList(z.string().min(1, 'empty reason')),
  })
  .nullish()
  .transform((m, ctx): RuleMatchSpec => {
    const out: RuleMatchSpec = {};
    for (const key of MATCHER_KEYS) if (m?.[key] !== undefined) (out as Record<string, unknown>)[key] = m[key];
    // A rule with no matcher would swallow every signal below it.
    if (Object.keys(out).length === 0) {
      ctx.addIssue({ code: 'custom', message: `a rule needs at least one matcher (${MATCHER_KEYS.join(', ')})` });
      return z.NEVER;
    }
    return out;
  });

const prioritySchema = scalarText.transform((v, ctx) => {
  const p = parsePriority(v);
  if (p === null) {
    ctx.addIssue({ code: 'custom', message: `unknown priority "${v}" (use P1..P4 or critical/high/medium/low)` });
    return z.NEVER;
  }
  return p;
});

const actionSchema = z
  .string()
  .nullish()
  .transform((v, ctx): ActionName => {
    if (!v) return 'none';
    if ((ACTIONS as readonly string[]).includes(v)) return v as ActionName;
    const retired = (UNSUPPORTED_ACTIONS as readonly string[]).includes(v);
    ctx.addIssue({
      code: 'custom',
      message: retired
        ? `action "${v}" from the original Kube Sentinel is not supported (it would run arbitrary code from a webhook); use one of: ${ACTIONS.join(', ')}`
        : `unknown action "${v}" (use one of: ${ACTIONS.join(', ')})`,
    });
    return z.NEVER;
  });

const cooldownSchema = z
  .string()
  .nullish()
  .transform((v, ctx) => {
    if (!v) return DEFAULT_COOLDOWN_MS;
    const ms = parseDuration(v);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: `not a duration: "${v}" (use e.g. 30s, 5m, 1h)` });
      return z.NEVER;
    }
    // The original replaced a zero cooldown with the default; an operator's "0s" keeps meaning that.
    return ms === 0 ? DEFAULT_COOLDOWN_MS : ms;
  });

// Unlike the cooldown, "0" here means what it says: no outcome check.
const verifySchema = z
  .string()
  .nullish()
  .transform((v, ctx) => {
    if (v === null || v === undefined || v === '') return DEFAULT_VERIFY_MS;
    const ms = parseDuration(v);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: `not a duration: "${v}" (use e.g. 2m, 5m; 0 turns the check off)` });
      return z.NEVER;
    }
    return ms;
  });

const remediationSchema = z
  .strictObject({
    action: actionSchema,
    params: z.record(z.string(), paramValue).nullish().transform((v) => v ?? {}),
    cooldown: cooldownSchema,
    approval: z.enum(['required', 'auto'], { error: 'must be "required" or "auto"' }).nullish(),
    verify: verifySchema,
  })
  .superRefine((r, ctx) => {
    // Each action's own param schema (src/remediate/actions): checked now, not when it first runs.
    const checked = ACTION_REGISTRY[r.action].params.safeParse(r.params);
    if (checked.success) return;
    for (const issue of checked.error.issues) {
      ctx.addIssue({ code: 'custom', path: ['params', ...issue.path.filter((p) => typeof p !== 'symbol')], message: issue.message });
    }
  })
  .nullish()
  .transform((r): RemediationSpec | null =>
    r ? { action: r.action, params: r.params, cooldownMs: r.cooldown, approval: r.approval ?? 'auto', verifyMs: r.verify } : null,
  );

const ruleSchema = z
  .strictObject({
    name: scalarText.pipe(z.string().trim().min(1, 'rule name is required').max(256, 'rule name longer than 256 characters')),
    match: matchSchema,
    priority: prioritySchema,
    remediation: remediationSchema,
    // The original forced every rule on; absent still means on, but `false` is now honoured.
    enabled: z.boolean().nullish().transform((v) => v ?? true),
  });

export const rulesDocumentSchema = z
  .strictObject({
    rules: z.array(ruleSchema, { error: 'expected a list of rules under `rules:`' }),
  }, { error: 'expected a mapping with a `rules:` list' })
  .superRefine((doc, ctx) => {
    // Names key cooldowns, metrics and the audit trail, so two rules may never share one.
    const firstAt = new Map<string, number>();
    doc.rules.forEach((rule, i) => {
      const first = firstAt.get(rule.name);
      if (first === undefined) firstAt.set(rule.name, i);
      else ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `duplicate rule name "${rule.name}" (already used by rules[${first}])` });
    });
  });

