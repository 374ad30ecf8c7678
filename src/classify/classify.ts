// The classification decision: pure, total (never throws, never an error for "no match") and cheap,
// because it runs for every signal on the ingest path.
import { formatDuration } from '../config/duration.ts';
import type { ActionName, Classification, Priority, Signal } from '../domain/types.ts';
import { matchText } from './compile.ts';
import type { CompiledRule, CompiledRuleSet, MatchText, TriedRule } from './compile.ts';
import type { RuleMatchSpec } from './schema.ts';

/** Priority of anything no rule matched. */
const UNMATCHED_PRIORITY: Priority = 'P4';

// Indexed loops, not for…of: these run per rule per signal, and an array iterator each time was
// about 600 bytes of garbage per alert (issue #12).
function firstFailure(rule: CompiledRule, signal: Signal, text: MatchText): TriedRule | null {
  const matchers = rule.matchers;
  for (let i = 0; i < matchers.length; i++) if (!matchers[i].test(signal, text)) return matchers[i].failure;
  return null;
}

/**
 * First enabled rule (file order) whose matchers all pass decides the priority and action. The reason
 * lists, for each enabled rule tried before it, the first matcher that failed.
 */
export function classify(signal: Signal, rules: CompiledRuleSet): Classification {
  const text = matchText(signal.message);
  const tried: TriedRule[] = [];
  for (let i = 0; i < rules.active.length; i++) {
    const rule = rules.active[i];
    const failed = firstFailure(rule, signal, text);
    if (failed === null) {
      return { priority: rule.priority, rule: rule.name, remediation: rule.remediation, reason: { matched: rule.name, tried } };
    }
    tried.push(failed);
  }
  return { priority: UNMATCHED_PRIORITY, rule: null, remediation: null, reason: { matched: null, tried } };
}

export function classifyAll(signals: readonly Signal[], rules: CompiledRuleSet): Classification[] {
  return signals.map((s) => classify(s, rules));
}

/** JSON shape of one rule for GET /api/rules. */
export interface RuleSummary {
  index: number;
  name: string;
  priority: Priority;
  enabled: boolean;
  /** `none` when the rule has no remediation block. */
  action: ActionName;
  params: Record<string, string>;
  /** Go-style duration ("5m"), or null when the rule has no remediation block. */
  cooldown: string | null;
  match: RuleMatchSpec;
}

export function describeRules(rules: CompiledRuleSet): RuleSummary[] {
  return rules.rules.map(({ index, spec }) => ({
    index,
    name: spec.name,
    priority: spec.priority,
    enabled: spec.enabled,
    action: spec.remediation?.action ?? 'none',
    params: { ...(spec.remediation?.params ?? {}) },
    cooldown: spec.remediation ? formatDuration(spec.remediation.cooldownMs) : null,
    match: structuredClone(spec.match),
  }));
}
