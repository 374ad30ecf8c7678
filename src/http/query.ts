// Pure parsing of read-API query strings into store queries; every bad value is a 400 that names it.
import { parseDuration } from '../config/duration.ts';
import { AppError, type ErrorDetail } from '../domain/errors.ts';
import { GROUP_STATUSES, PRIORITIES, SOURCE_KINDS, type Priority } from '../domain/types.ts';
import { AUDIT_OUTCOMES, SORT_KEYS, type AuditOutcome, type GroupQuery, type HistoryQuery } from '../store/types.ts';

export type RawQuery = Record<string, unknown>;

const MAX_PAGE_SIZE = 500;

// Every value must be one the database accepts as it is: PostgreSQL refuses NUL in text and numbers
// outside bigint, and a refusal there would surface as a 500. So the range is checked here, once for
// both stores, and a value outside it is the caller's mistake: 400 naming the parameter.
const MAX_TEXT = 512;
const MAX_FREE_TEXT = 200;
/** 100 years: further back than any stored row, and far inside epoch-ms bigint range. */
const MAX_SINCE_MS = 100 * 365.25 * 86_400_000;
const RFC3339 = /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?$/;
/** C0 control characters and DEL: never part of a name or search text (PostgreSQL refuses NUL outright). */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

function raw(q: RawQuery, key: string): string | undefined {
  const v = q[key];
  if (v === undefined) return undefined;
  const s = Array.isArray(v) ? v.join(',') : typeof v === 'string' ? v : String(v);
  return s === '' ? undefined : s;
}

/** A text filter: no control characters (NUL breaks PostgreSQL), bounded length. */
function str(q: RawQuery, key: string, issues: ErrorDetail[], max = MAX_TEXT): string | undefined {
  const s = raw(q, key);
  if (s === undefined) return undefined;
  if (CONTROL_CHARACTERS.test(s)) {
    issues.push({ path: key, message: 'must not contain control characters' });
    return undefined;
  }
  if (s.length > max) {
    issues.push({ path: key, message: `must be at most ${max} characters` });
    return undefined;
  }
  return s;
}

/**
 * A database id: plain decimal digits, 1..2^53-1 (no sign, exponent, fraction or hex, which
 * `Number()` would accept and bigint would not). Null when the text is not one.
 */
export function parseId(text: string): number | null {
  if (!/^[1-9]\d{0,15}$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

function oneOf<T extends string>(q: RawQuery, key: string, allowed: readonly T[], issues: ErrorDetail[]): T | undefined {
  const v = raw(q, key);
  if (v === undefined) return undefined;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  issues.push({ path: key, message: `must be one of ${allowed.join(', ')}` });
  return undefined;
}

function positiveInt(q: RawQuery, key: string, fallback: number, max: number, issues: ErrorDetail[]): number {
  const v = raw(q, key);
  if (v === undefined) return fallback;
  const n = parseId(v);
  if (n === null || n > max) {
    issues.push({ path: key, message: `must be an integer from 1 to ${max}` });
    return fallback;
  }
  return n;
}

/** `since` is an RFC 3339 time or a duration back from now ("1h", "30m"). */
function since(q: RawQuery, now: number, issues: ErrorDetail[]): number | undefined {
  const v = raw(q, 'since');
  if (v === undefined) return undefined;
  const d = v.length <= 64 ? parseDuration(v) : null;
  if (d !== null) {
    if (Number.isFinite(d) && d <= MAX_SINCE_MS) return now - d;
    issues.push({ path: 'since', message: 'must be a duration of at most 100 years' });
    return undefined;
  }
  const t = RFC3339.test(v) ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(t)) {
    issues.push({ path: 'since', message: 'must be an RFC 3339 time or a duration like 1h' });
    return undefined;
  }
  return t;
}

function pagination(q: RawQuery, issues: ErrorDetail[]): { page: number; pageSize: number } {
  return {
    page: positiveInt(q, 'page', 1, 1_000_000, issues),
    pageSize: positiveInt(q, 'page_size', 50, MAX_PAGE_SIZE, issues),
  };
}

function fail(issues: ErrorDetail[]): void {
  if (issues.length) throw new AppError('invalid_query', `Invalid query: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues);
}

export function parseGroupQuery(q: RawQuery, now: number): GroupQuery {
  const issues: ErrorDetail[] = [];
  let priority: Priority[] | undefined;
  const p = raw(q, 'priority');
  if (p !== undefined) {
    const parts = p.split(',').map((s) => s.trim().toUpperCase());
    const bad = parts.filter((s) => !(PRIORITIES as readonly string[]).includes(s));
    if (bad.length) issues.push({ path: 'priority', message: `unknown priority ${bad.join(', ')} (use P1..P4)` });
    else priority = parts as Priority[];
  }
  const query: GroupQuery = {
    priority,
    namespace: str(q, 'namespace', issues),
    pod: str(q, 'pod', issues),
    rule: str(q, 'rule', issues),
    source: oneOf(q, 'source', SOURCE_KINDS, issues),
    status: oneOf(q, 'status', GROUP_STATUSES, issues),
    // Free text is cut rather than refused: a long search box paste is not an error.
    q: str(q, 'q', issues, 64 * 1024)?.slice(0, MAX_FREE_TEXT),
    since: since(q, now, issues),
    sort: oneOf(q, 'sort', SORT_KEYS, issues),
    order: oneOf(q, 'order', ['asc', 'desc'] as const, issues),
    ...pagination(q, issues),
  };
  fail(issues);
  return query;
}

export function parseHistoryQuery(q: RawQuery): HistoryQuery {
  const issues: ErrorDetail[] = [];
  const groupText = raw(q, 'group_id');
  const groupId = groupText === undefined ? undefined : parseId(groupText) ?? undefined;
  if (groupText !== undefined && groupId === undefined) issues.push({ path: 'group_id', message: 'must be an integer from 1 to 2^53-1' });
  const query: HistoryQuery = {
    outcome: oneOf<AuditOutcome>(q, 'outcome', AUDIT_OUTCOMES, issues),
    reason: str(q, 'reason', issues),
    namespace: str(q, 'namespace', issues),
    rule: str(q, 'rule', issues),
    groupId,
    ...pagination(q, issues),
  };
  fail(issues);
  return query;
}
