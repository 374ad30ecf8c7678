// Literal prefilter for rule patterns. re2js gives RE2's linear-time guarantee but scans ~25–40k
// texts/s per pattern at 1 KB, and most rules fail on most messages. So each pattern gets, where it can
// be derived, the set of literals one of which any match must contain; when none is in the text, the
// regex cannot match and is not run. Where an alternative is nothing but its literal (most rule
// patterns are lists of such words), finding it is the match, and the regex is not run either (issue
// #12: re2js allocated about 0.9 KB per matching alert). Results stay RE2's.

export interface Prefilter {
  /** A match must contain at least one of these. */
  readonly literals: readonly Literal[];
}

const MIN_LITERAL = 3;
// Escapes that stand for themselves (punctuation); any other escape (\b \d \s \w \p \x …) is not a literal.
const LITERAL_ESCAPES = new Set('.[](){}*+?|\\^$-/:#&~"\'<>=!,;@%`_ '.split(''));
const QUANTIFIERS = new Set(['*', '+', '?', '{']);

/** Index just past the `)` closing the group that opens at `i`, or -1 when unbalanced. */
function skipGroup(p: string, i: number): number {
  let depth = 0;
  for (let j = i; j < p.length; j++) {
    const c = p[j];
    if (c === '\\') j++;
    else if (c === '[') {
      j = skipClass(p, j) - 1;
      if (j < 0) return -1;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return j + 1;
  }
  return -1;
}

/** Index just past the `]` closing the class that opens at `i`, or -1. */
function skipClass(p: string, i: number): number {
  let j = i + 1;
  if (p[j] === '^') j++;
  if (p[j] === ']') j++; // a leading ] is literal
  for (; j < p.length; j++) {
    if (p[j] === '\\') j++;
    else if (p[j] === '[' && p[j + 1] === ':') {
      const end = p.indexOf(':]', j + 2);
      if (end === -1) return -1;
      j = end + 1;
    } else if (p[j] === ']') return j + 1;
  }
  return -1;
}

/**
 * A case-insensitive literal is ASCII (literalsOf) and is looked for with a JS regex flagged `i`
 * (without `u`): for ASCII letters that folds exactly as RE2 does, apart from ſ and K (prefilterVerdict). It
 * used to be looked for in a lower-cased copy of the text, about 1 KB of garbage per alert (#12).
 */
type Literal = { readonly whole: boolean } & (
  | { readonly text: string; readonly ci: false }
  | { readonly text: string; readonly ci: true; readonly re: RegExp });

const REGEX_SYNTAX = /[.*+?^${}()|[\]\\/]/g;

/** Split at top-level `|` (outside groups and classes), or null when unbalanced. */
function splitAlternatives(p: string): string[] | null {
  const parts: string[] = [];
  let from = 0;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') i++;
    else if (c === '(' || c === '[') {
      const next = c === '(' ? skipGroup(p, i) : skipClass(p, i);
      if (next === -1) return null;
      i = next - 1;
    } else if (c === '|') {
      parts.push(p.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(p.slice(from));
  return parts;
}

/** `{n}`, `{n,}`, `{n,m}` at p[i] is a repeat whose body is not text: its end; any other `{` is RE2's literal brace. */
function repeatEnd(p: string, i: number): number {
  if (p[i] !== '{') return i;
  const close = p.indexOf('}', i);
  return close !== -1 && /^\d+(,\d*)?$/.test(p.slice(i + 1, close)) ? close : i;
}

/** \Q…\E quoting and escapes with arguments (\x41, \x{…}, \p{…}, octal) are not worth parsing. */
const unparsedEscape = (n: string | undefined): boolean => n === undefined || 'QxpP0123456789'.includes(n);

/** Characters that end a literal run without being part of it. */
const RUN_BREAKS = new Set(['.', '^', '$', ')']);

/**
 * Longest mandatory literal run of one alternative (groups, classes and quantified chars break runs),
 * and whether nothing broke it: then the alternative is that literal and nothing else.
 */
function longestRun(p: string): { run: string; whole: boolean } | null {
  let best = '';
  let run = '';
  let whole = true;
  const endRun = () => { if (run.length > best.length) best = run; run = ''; whole = false; };
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (QUANTIFIERS.has(c)) {
      // The previous character is optional or repeated: it is not a safe part of the run.
      run = run.slice(0, -1);
      endRun();
      i = repeatEnd(p, i);
    } else if (c === '\\') {
      const n = p[i + 1];
      if (unparsedEscape(n)) return null;
      i++;
      if (LITERAL_ESCAPES.has(n) && !QUANTIFIERS.has(p[i + 1] ?? '')) run += n;
      else endRun();
    } else if (c === '(' || c === '[') {
      endRun();
      const next = c === '(' ? skipGroup(p, i) : skipClass(p, i);
      if (next === -1) return null;
      i = next - 1;
    } else if (RUN_BREAKS.has(c)) {
      endRun();
    } else {
      run += c;
    }
  }
  if (whole) return { run, whole };
  endRun();
  return { run: best, whole: false };
}

const GROUP_OPEN = /^\((?:\?([a-zA-Z]*)(?:-([a-zA-Z]*))?:|\?P?<[A-Za-z_][A-Za-z0-9_]*>)?/;

/** One literal per alternative (recursing into an alternative that is a whole group); null if any has none. */
function literalsOf(p: string, ci: boolean, depth = 0): Literal[] | null {
  const alts = splitAlternatives(p);
  if (!alts || depth > 8) return null;
  const out: Literal[] = [];
  for (const alt of alts) {
    if (alt.startsWith('(') && skipGroup(alt, 0) === alt.length) {
      const open = GROUP_OPEN.exec(alt);
      if (!open) return null;
      const on = open[1] ?? '';
      const off = open[2] ?? '';
      const innerCi = off.includes('i') ? false : on.includes('i') ? true : ci;
      const inner = literalsOf(alt.slice(open[0].length, -1), innerCi, depth + 1);
      if (!inner) return null;
      out.push(...inner);
      continue;
    }
    const found = longestRun(alt);
    if (found === null || found.run.length < MIN_LITERAL) return null;
    const { run, whole } = found;
    // Case-insensitive literals must be ASCII: only then are the fold exceptions below complete.
    if (ci && /[^\x00-\x7f]/.test(run)) return null;
    // A whole alternative that is this literal: an occurrence of it is a match of the pattern.
    out.push(ci ? { text: run.toLowerCase(), ci, whole, re: new RegExp(run.replace(REGEX_SYNTAX, '\\$&'), 'i') } : { text: run, ci, whole });
  }
  return out;
}

/** Derive the prefilter of an RE2 pattern, or null when none can be derived safely. */
export function derivePrefilter(pattern: string): Prefilter | null {
  // \Q…\E quotes brackets and bars the scanners here would take for syntax (a group seeming to end
  // early, an alternative split inside one); a lone surrogate is one code unit here but a code point
  // to RE2, so includes() could find it inside a pair. Neither is worth reasoning about.
  if (pattern.includes('\\Q') || !pattern.isWellFormed()) return null;
  let p = pattern;
  let ci = false;
  const flags = /^\(\?([imsU]+)\)/.exec(p);
  if (flags) {
    ci = flags[1].includes('i');
    p = p.slice(flags[0].length);
  }
  // A flag group later on (e.g. `a(?i)b`) changes case rules mid-pattern: do not reason about it.
  if (/\(\?[a-zA-Z-]*\)/.test(p)) return null;
  const literals = literalsOf(p, ci);
  return literals ? { literals } : null;
}

/** The only non-ASCII characters RE2's case folding equates with ASCII letters: ſ (s) and K (k). */
const FOLDS_TO_ASCII = /[\u017f\u212a]/;

/**
 * What the literals say about `text`: 'no' when the pattern cannot match it, 'yes' when an alternative
 * that is nothing but a literal occurs in it (the pattern matches), else 'maybe' (ask the regex). A
 * case-insensitive literal is found with a JS `i` regex, which folds ASCII letters only: what it finds
 * RE2 finds too, and a text holding ſ or K may match where it finds nothing.
 */
export function prefilterVerdict(pre: Prefilter, text: string): 'no' | 'maybe' | 'yes' {
  let folds: boolean | null = null;
  for (let i = 0; i < pre.literals.length; i++) {
    const l = pre.literals[i];
    if (l.ci ? l.re.test(text) : text.includes(l.text)) return l.whole ? 'yes' : 'maybe';
    if (l.ci && (folds ??= FOLDS_TO_ASCII.test(text))) return 'maybe';
  }
  return 'no';
}
