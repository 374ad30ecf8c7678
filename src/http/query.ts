// Pure parsing of read-API query strings into store queries; every bad value is a 400 that names it.
import { parseDuration } from '../config/duration.ts';
import { AppError, type ErrorDetail } from '../domain/errors.ts';
import { GROUP_STATUSES, PRIORITIES, SOURCE_KINDS, type Priority } from '../domain/types.ts';
import { AUDIT_OUTCOMES, SORT_KEYS, type AuditOutcome, type GroupQuery, type HistoryQuery } from '../store/types.ts';

export type RawQuery = Record<string, unknown>;

const MAX_PAGE_SIZE = 500;

function str(q: RawQuery, key: string): string | undefined {
  const v = q[key];
  if (v === undefined) return undefined;
  const s = Array.isArray(v) ? v.join(',') : String(v);
  return s === '' ? undefined : s;
}

function oneOf<T extends string>(q: RawQuery, key: string, allowed: readonly T[], issues: ErrorDetail[]): T | undefined {
  const v = str(q, key);
  if (v === undefined) return undefined;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  issues.push({ path: key, message: `must be one of ${allowed.join(', ')}` });
  return undefined;
}

function positiveInt(q: RawQuery, key: string, fallback: number, max: number, issues: ErrorDetail[]): number {
  const v = str(q, key);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    issues.push({ path: key, message: `must be an integer from 1 to ${max}` });
    return fallback;
  }
  return n;
}

/** `since` is an RFC 3339 time or a duration back from now ("1h", "30m"). */
function since(q: RawQuery, now: number, issues: ErrorDetail[]): number | undefined {
  const v = str(q, 'since');
  if (v === undefined) return undefined;
  const d = parseDuration(v);
  if (d !== null) return now - d;
  const t = Date.parse(v);
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
  const p = str(q, 'priority');
  if (p !== undefined) {
    const parts = p.split(',').map((s) => s.trim().toUpperCase());
    const bad = parts.filter((s) => !(PRIORITIES as readonly string[]).includes(s));
    if (bad.length) issues.push({ path: 'priority', message: `unknown priority ${bad.join(', ')} (use P1..P4)` });
    else priority = parts as Priority[];
  }
  const query: GroupQuery = {
    priority,
    namespace: str(q, 'namespace'),
    pod: str(q, 'pod'),
    rule: str(q, 'rule'),
    source: oneOf(q, 'source', SOURCE_KINDS, issues),
    status: oneOf(q, 'status', GROUP_STATUSES, issues),
    q: str(q, 'q')?.slice(0, 200),
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
  const groupText = str(q, 'group_id');
  const groupId = groupText === undefined ? undefined : Number(groupText);
  if (groupId !== undefined && !Number.isInteger(groupId)) issues.push({ path: 'group_id', message: 'must be an integer' });
  const query: HistoryQuery = {
    outcome: oneOf<AuditOutcome>(q, 'outcome', AUDIT_OUTCOMES, issues),
    reason: str(q, 'reason'),
    namespace: str(q, 'namespace'),
    rule: str(q, 'rule'),
    groupId,
    ...pagination(q, issues),
  };
  fail(issues);
  return query;
}
