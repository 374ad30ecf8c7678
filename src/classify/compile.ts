// Turns validated rule specs into matchers once, at load. Everything that can fail (regex syntax,
// limits) fails here, so classify() itself never throws on any input.
import { RE2JS } from 're2js';
import type { Priority, RemediationSpec, Signal, SourceKind } from '../domain/types.ts';
import { derivePrefilter, prefilterVerdict } from './prefilter.ts';
import type { RuleMatchSpec, RuleSpec, RulesDocument } from './schema.ts';

/** Longest regex source accepted: keeps compiled programs (and DFA caches) small. */
export const MAX_PATTERN_LENGTH = 4096;
/** Only this much of a message or label value is matched, so hostile input stays cheap. */
export const MAX_MATCH_TEXT = 16 * 1024;

/** One step in a classification explanation: this rule was tried and this matcher failed first. */
export interface TriedRule {
  readonly rule: string;
  readonly failed: string;
}

/** The message as matchers see it; the lower-cased copy is made only if a keyword matcher runs. */
export interface MatchText {
  readonly text: string;
  lower: string | null;
}

export function matchText(message: string): MatchText {
  return { text: message.length > MAX_MATCH_TEXT ? message.slice(0, MAX_MATCH_TEXT) : message, lower: null };
}

export interface Matcher {
  /** Shared, frozen explanation returned when this matcher is the first to fail (no per-call allocation). */
  readonly failure: TriedRule;
  readonly test: (signal: Signal, text: MatchText) => boolean;
}

export interface CompiledRule {
  readonly index: number;
  readonly name: string;
  readonly priority: Priority;
  readonly enabled: boolean;
  /** The rule as validated (numbers coerced to strings, empty matchers dropped), for GET /api/rules. */
  readonly spec: RuleSpec;
  /** Null when the rule has no remediation or its action is `none`: nothing for the remediator to do. */
  readonly remediation: RemediationSpec | null;
  /** Cheap matchers first, regex last; all must pass. */
  readonly matchers: readonly Matcher[];
}

export interface CompiledRuleSet {
  /** File path or other name the rules came from. */
  readonly source: string;
  /** sha256 (hex) of the source text: identical files give identical hashes on every replica. */
  readonly hash: string;
  /** Short form of the hash, shown in logs, metrics and the API. */
  readonly version: string;
  readonly loadedAt: number;
  readonly rules: readonly CompiledRule[];
  /** The enabled rules in file order: the only ones classify() walks. */
  readonly active: readonly CompiledRule[];
}

export interface RuleSetMeta {
  source: string;
  hash: string;
  loadedAt: number;
}

export interface RuleIssue {
  path: Array<string | number>;
  message: string;
}

export type CompileResult = { ok: true; set: CompiledRuleSet } | { ok: false; issues: RuleIssue[] };

/** Compile a regex with RE2 semantics (linear time, Go syntax incl. `(?i)`); returns an error text on failure. */
export function compileRegex(source: string): RE2JS | string {
  if (source.length > MAX_PATTERN_LENGTH) return `regex longer than ${MAX_PATTERN_LENGTH} characters`;
  try {
    return RE2JS.compile(source);
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    return `invalid regex: ${text.replace(/^error parsing regexp: /, '')}`;
  }
}

function testCapped(re: RE2JS, value: string): boolean {
  return re.test(value.length > MAX_MATCH_TEXT ? value.slice(0, MAX_MATCH_TEXT) : value);
}

function failure(rule: string, failed: string): TriedRule {
  return Object.freeze({ rule, failed });
}

function labelValue(labels: Record<string, string>, key: string): string | undefined {
  // Labels come from the wire: an own-property check keeps keys like `constructor` from reading the prototype.
  return Object.hasOwn(labels, key) ? labels[key] : undefined;
}

function labelMatchers(rule: string, labels: Record<string, string>, at: Array<string | number>, issues: RuleIssue[]): Matcher[] {
  const out: Matcher[] = [];
  for (const [key, expected] of Object.entries(labels)) {
    const fail = failure(rule, `labels.${key}`);
    if (expected.startsWith('!')) {
      // As in the original: a missing label reads as "", so `!x` passes when the label is absent.
      const not = expected.slice(1);
      out.push({ failure: fail, test: (s) => (labelValue(s.labels, key) ?? '') !== not });
    } else if (expected.startsWith('~')) {
      const re = compileRegex(expected.slice(1));
      if (typeof re === 'string') {
        issues.push({ path: [...at, 'labels', key], message: re });
        continue;
      }
      out.push({
        failure: fail,
        test: (s) => {
          const v = labelValue(s.labels, key);
          return v !== undefined && testCapped(re, v);
        },
      });
    } else {
      out.push({ failure: fail, test: (s) => labelValue(s.labels, key) === expected });
    }
  }
  return out;
}

function namespaceMatcher(rule: string, entries: string[]): Matcher {
  const include = entries.filter((e) => !e.startsWith('!'));
  const exclude = entries.filter((e) => e.startsWith('!')).map((e) => e.slice(1));
  // A negation always excludes; with only negations listed, everything else passes (original semantics).
  return {
    failure: failure(rule, 'namespaces'),
    test: (s) => !exclude.includes(s.namespace) && (include.length === 0 || include.includes(s.namespace)),
  };
}

export function compileMatchers(rule: string, match: RuleMatchSpec, at: Array<string | number>, issues: RuleIssue[]): Matcher[] {
  const out: Matcher[] = [];
  if (match.sources) {
    const sources: readonly SourceKind[] = match.sources;
    out.push({ failure: failure(rule, 'sources'), test: (s) => sources.includes(s.source) });
  }
  if (match.reasons) {
    const reasons = match.reasons;
    out.push({ failure: failure(rule, 'reasons'), test: (s) => reasons.includes(s.reason) });
  }
  if (match.namespaces) out.push(namespaceMatcher(rule, match.namespaces));
  if (match.labels) out.push(...labelMatchers(rule, match.labels, at, issues));
  if (match.keywords) {
    const keywords = match.keywords.map((k) => k.toLowerCase());
    out.push({
      failure: failure(rule, 'keywords'),
      test: (_s, t) => {
        t.lower ??= t.text.toLowerCase();
        const lower = t.lower;
        return keywords.some((k) => lower.includes(k));
      },
    });
  }
  if (match.pattern !== undefined) {
    const re = compileRegex(match.pattern);
    if (typeof re === 'string') issues.push({ path: [...at, 'pattern'], message: re });
    else {
      const pre = derivePrefilter(match.pattern);
      out.push({
        failure: failure(rule, 'pattern'),
        test: pre
          ? (_s, t) => {
            const verdict = prefilterVerdict(pre, t.text);
            return verdict === 'yes' || (verdict === 'maybe' && re.test(t.text));
          }
          : (_s, t) => re.test(t.text),
      });
    }
  }
  return out;
}

function compileRule(spec: RuleSpec, index: number, issues: RuleIssue[]): CompiledRule {
  const r = spec.remediation;
  const remediation =
    r && r.action !== 'none'
      ? Object.freeze({ action: r.action, params: Object.freeze({ ...r.params }), cooldownMs: r.cooldownMs })
      : null;
  return Object.freeze({
    index,
    name: spec.name,
    priority: spec.priority,
    enabled: spec.enabled,
    spec,
    remediation,
    matchers: Object.freeze(compileMatchers(spec.name, spec.match, ['rules', index, 'match'], issues)),
  });
}

/** Compile a validated rules document; every regex problem is reported, not just the first. */
export function compileRules(doc: RulesDocument, meta: RuleSetMeta): CompileResult {
  const issues: RuleIssue[] = [];
  const rules = doc.rules.map((spec, i) => compileRule(spec, i, issues));
  if (issues.length > 0) return { ok: false, issues };
  const set: CompiledRuleSet = Object.freeze({
    source: meta.source,
    hash: meta.hash,
    version: meta.hash.slice(0, 12),
    loadedAt: meta.loadedAt,
    rules: Object.freeze(rules),
    active: Object.freeze(rules.filter((r) => r.enabled)),
  });
  return { ok: true, set };
}
