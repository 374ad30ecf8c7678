// Reads rules.yaml (or an already parsed JSON body) into a CompiledRuleSet, or fails with one LoadError
// listing the problems found, each with its rule, field and line, so an operator can fix several per
// attempt. Shape errors are reported first; duplicate names and regexes are checked once the shape is valid.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isMap, isScalar, LineCounter, parseDocument, visit } from 'yaml';
import type { Document } from 'yaml';
import type { ZodError } from 'zod';
import { LoadError } from '../domain/errors.ts';
import type { ErrorDetail } from '../domain/errors.ts';
import { compileRules } from './compile.ts';
import type { CompiledRuleSet, RuleIssue } from './compile.ts';
import { rulesDocumentSchema } from './schema.ts';

export interface LoadOptions {
  /** Clock for `loadedAt`; injected so tests and replicas agree on time handling. */
  now?: () => number;
  /**
   * Names of the configured `webhook` notification receivers. When given, a rule whose action is
   * `webhook` must name one of them in `params.receiver` (checked at load, like every other param).
   */
  webhookReceivers?: readonly string[];
}

type Locate = (path: Array<string | number>, key?: string) => number | null;

/** Content hash a rule set carries; the reloader compares it to skip re-parsing an unchanged file. */
export function hashRulesText(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `rules[3] (tls-error).match.pattern`: index for position, name so people recognise the rule. */
function renderPath(path: ReadonlyArray<PropertyKey>, raw: unknown): string {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const part = path[i];
    if (typeof part === 'number') {
      out += `[${part}]`;
      if (i === 1 && path[0] === 'rules') {
        const name = ruleName(raw, part);
        if (name) out += ` (${name})`;
      }
    } else {
      out += out === '' ? String(part) : `.${String(part)}`;
    }
  }
  return out;
}

function ruleName(raw: unknown, index: number): string | null {
  const rules = (raw as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules)) return null;
  const name = (rules[index] as { name?: unknown } | null)?.name;
  return typeof name === 'string' || typeof name === 'number' ? String(name).slice(0, 80) : null;
}

function toDetails(issues: RuleIssue[], raw: unknown, locate: Locate | null): ErrorDetail[] {
  return issues.map((issue) => {
    const line = locate?.(issue.path) ?? null;
    return { path: renderPath(issue.path, raw), message: line === null ? issue.message : `${issue.message} (line ${line})` };
  });
}

function zodIssues(error: ZodError, raw: unknown, locate: Locate | null): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const issue of error.issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      // One detail per key, pointing at the key's own line.
      for (const key of issue.keys) {
        const line = locate?.(path, key) ?? null;
        details.push({
          path: renderPath([...path, key], raw),
          message: `unknown key "${key}"${line === null ? '' : ` (line ${line})`}`,
        });
      }
      continue;
    }
    const message = path.length === 0 && (raw === null || raw === undefined) ? 'the file is empty; expected a `rules:` list' : issue.message;
    details.push(...toDetails([{ path, message }], raw, locate));
  }
  return details;
}

/** Validate and compile an already parsed document (YAML or a JSON request body). */
function build(raw: unknown, text: string, sourceName: string, locate: Locate | null, options: LoadOptions): CompiledRuleSet {
  const parsed = rulesDocumentSchema.safeParse(raw);
  if (!parsed.success) throw new LoadError(sourceName, zodIssues(parsed.error, raw, locate));
  const receivers = options.webhookReceivers;
  if (receivers) {
    const unknown = parsed.data.rules.flatMap((r, i) => r.remediation?.action === 'webhook' && !receivers.includes(r.remediation.params.receiver)
      ? [{ path: `rules[${i}].remediation.params.receiver`, message: `no webhook receiver "${r.remediation.params.receiver}" in notifications.receivers${receivers.length ? ` (have: ${receivers.join(', ')})` : ''}` }]
      : []);
    if (unknown.length > 0) throw new LoadError(sourceName, unknown);
  }
  const result = compileRules(parsed.data, { source: sourceName, hash: hashRulesText(text), loadedAt: (options.now ?? Date.now)() });
  if (!result.ok) throw new LoadError(sourceName, toDetails(result.issues, raw, locate));
  return result.set;
}

function locator(doc: Document, lines: LineCounter): Locate {
  return (path, key) => {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = doc.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
      if (!node) continue;
      let offset = node.range?.[0];
      if (key !== undefined && depth === path.length && isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
        offset = (pair?.key as { range?: [number, number, number] } | undefined)?.range?.[0] ?? offset;
      }
      if (offset !== undefined) return lines.linePos(offset).line;
    }
    return null;
  };
}

/** Parse rules.yaml text; `sourceName` names the file in errors. Throws LoadError. */
export function parseRules(yamlText: string, sourceName: string, options: LoadOptions = {}): CompiledRuleSet {
  const lines = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new LoadError(
      sourceName,
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { path: '', message: `YAML syntax error at line ${pos.line}, column ${pos.col}: ${e.message}` };
      }),
    );
  }
  // Go read `replicas: +1` into a string field as "+1"; keep the written text instead of YAML's number 1.
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'number' && node.source !== undefined) node.value = node.source;
    },
  });
  return build(doc.toJS({ maxAliasCount: 100 }), yamlText, sourceName, locator(doc, lines), options);
}

/** Compile rules from a parsed JSON value (e.g. a POST /api/rules/test body). Throws LoadError. */
export function rulesFromObject(value: unknown, sourceName: string, options: LoadOptions = {}): CompiledRuleSet {
  return build(value, JSON.stringify(value) ?? '', sourceName, null, options);
}

export async function loadRulesFile(path: string, options: LoadOptions = {}): Promise<CompiledRuleSet> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LoadError(path, [{ path: '', message: `cannot read rules file${code ? ` (${code})` : ''}: ${(err as Error).message}` }]);
  }
  return parseRules(text, path, options);
}
