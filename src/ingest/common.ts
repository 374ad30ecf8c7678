// Shared pieces of the ingest adapters: the result shape, an issue list, and hand-written readers for
// the JSON fields every format has (string maps, RFC 3339 times). Validation is by hand rather than
// with zod because it runs for every item on the ingest hot path: measured on Node 24 with the sample
// alert, a zod 4 schema doing the same checks (label names, value caps, ISO dates) takes ~2.5 µs per
// alert against ~1.0 µs here, and it would still leave the conversion to do. Hand-written readers also
// give Go-strict dates and our issue paths directly. They never throw on any JSON value.
import type { ErrorDetail } from '../domain/errors.ts';
import type { Signal } from '../domain/types.ts';

export interface ParseResult {
  /** The valid items, converted. */
  signals: Signal[];
  /** One entry per problem, with a path such as `[3].labels` or `alerts[2].startsAt`; `body` for the whole. */
  issues: ErrorDetail[];
  /** How many items the payload held (valid or not). */
  total: number;
}

export const LIMITS = {
  maxLabels: 128,
  maxNameLength: 1024,
  /** Label values are identity: longer is an error. Free text (annotations, messages) is cut instead. */
  maxValueLength: 16 * 1024,
  /** Enough to fix a payload; more would only make the 400 response huge. */
  maxIssues: 100,
} as const;

/** Collects issues up to LIMITS.maxIssues and then summarises how many more there were. */
export class IssueList {
  readonly #items: ErrorDetail[] = [];
  #count = 0;

  add(path: string, message: string): void {
    this.#count++;
    if (this.#items.length < LIMITS.maxIssues) this.#items.push({ path, message });
  }

  /** Every issue added, including those past the cap: compare before/after to see if an item failed. */
  get count(): number {
    return this.#count;
  }

  toArray(): ErrorDetail[] {
    const dropped = this.#count - this.#items.length;
    if (dropped === 0) return this.#items.slice();
    return [...this.#items, { path: 'body', message: `${dropped} more issues not listed` }];
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function fieldPath(prefix: string, key: string): string {
  return prefix === '' ? key : `${prefix}.${key}`;
}

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

/** Cut free text to LIMITS.maxValueLength without splitting a surrogate pair. */
export function clampText(text: string): string {
  if (text.length <= LIMITS.maxValueLength) return text;
  const code = text.charCodeAt(LIMITS.maxValueLength - 1);
  const end = code >= 0xd800 && code <= 0xdbff ? LIMITS.maxValueLength - 1 : LIMITS.maxValueLength;
  return `${text.slice(0, end)}…`;
}

/** A string field that may be absent; any other type is an issue (and reads as ''). */
export function readString(obj: Record<string, unknown>, key: string, prefix: string, issues: IssueList): string {
  const value = obj[key];
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  issues.add(fieldPath(prefix, key), `must be a string, got ${typeName(value)}`);
  return '';
}


export interface StringMapOptions {
  /** `label`: values capped (they are the alert's identity); `annotation`/`metadata`: values cut. */
  kind: 'label' | 'annotation' | 'metadata';
  required: boolean;
}

/** Read a `{name: string}` object into a fresh plain object; null when it was invalid. */
export function readStringMap(
  value: unknown,
  path: string,
  issues: IssueList,
  options: StringMapOptions,
): Record<string, string> | null {
  if (value === undefined || value === null) {
    if (options.required) issues.add(path, 'is required');
    return options.required ? null : {};
  }
  if (!isRecord(value)) {
    issues.add(path, `must be an object of strings, got ${typeName(value)}`);
    return null;
  }
  const names = Object.keys(value);
  if (options.required && names.length === 0) {
    issues.add(path, 'must contain at least one label');
    return null;
  }
  if (names.length > LIMITS.maxLabels) {
    issues.add(path, `has ${names.length} entries; at most ${LIMITS.maxLabels} are accepted`);
    return null;
  }
  const before = issues.count;
  const out: Record<string, string> = {};
  for (const name of names) {
    const v = value[name];
    if (name.length > LIMITS.maxNameLength) {
      issues.add(path, `has a name longer than ${LIMITS.maxNameLength} characters`);
      continue;
    }
    // A copied `__proto__` key would replace the object's prototype instead of adding an entry.
    if (name === '__proto__' || name === '') {
      issues.add(`${path}.${name}`, 'is not an acceptable name');
      continue;
    }
    // Prometheus 3 and OpenTelemetry send UTF-8 label names (`service.name`, `k8s.pod.name`, `région`):
    // any non-empty name is accepted, as long as it is text (a lone surrogate from a JSON escape is not).
    // Refusing one would lose the alert for good: senders do not retry a 400.
    if (!name.isWellFormed()) {
      issues.add(path, 'has a name that is not valid UTF-8');
      continue;
    }
    if (typeof v !== 'string') {
      issues.add(`${path}.${name}`, `must be a string, got ${typeName(v)}`);
      continue;
    }
    if (v.length > LIMITS.maxValueLength) {
      if (options.kind === 'label') {
        issues.add(`${path}.${name}`, `is longer than ${LIMITS.maxValueLength} characters`);
        continue;
      }
      out[name] = clampText(v);
      continue;
    }
    out[name] = v;
  }
  return issues.count === before ? out : null;
}

/** Go's zero time.Time, which Alertmanager sends for "no end" and which means "unset" everywhere. */
const GO_ZERO_TIME_MS = -62135596800000; // 0001-01-01T00:00:00Z
/** 400 Gregorian years repeat the calendar exactly. */
const FOUR_CENTURIES_MS = 146097 * 86_400_000;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function digits(s: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/**
 * Parse an RFC 3339 time (`2026-11-21T22:27:44.426123Z`, `…+02:00`) into epoch ms. Strict like Go's
 * time.Parse — `Date.parse` would accept "2026-02-31" and free-form dates — and without a regex, since
 * every alert and event carries two or three of these. NaN when malformed.
 */
export function parseRfc3339(s: string): number {
  if (s.length < 20 || s.length > 40) return NaN;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const second = digits(s, 17, 2);
  if (!separatorsAt(s) || !inRange(year, month, day) || !inRange24h(hour, minute, second)) return NaN;
  const fraction = readFraction(s, 19);
  const zone = fraction && readZone(s, fraction.next);
  if (!fraction || !zone || zone.next !== s.length) return NaN;
  // Date.UTC reads years 0–99 as 1900–1999 (Go's zero time is year 1), so compute those 400 years later.
  const ms =
    year < 100
      ? Date.UTC(year + 400, month - 1, day, hour, minute, second, fraction.millis) - FOUR_CENTURIES_MS
      : Date.UTC(year, month - 1, day, hour, minute, second, fraction.millis);
  return ms - zone.offsetMinutes * 60_000;
}

/** `YYYY-MM-DDTHH:MM:SS`: the date and time separators (T, t or a space between the two). */
function separatorsAt(s: string): boolean {
  const t = s[10];
  return s[4] === '-' && s[7] === '-' && (t === 'T' || t === 't' || t === ' ') && s[13] === ':' && s[16] === ':';
}

/** A real calendar day (leap years included); `digits` gives -1 for anything but digits. */
function inRange(year: number, month: number, day: number): boolean {
  if (year < 0 || month < 1 || month > 12 || day < 1) return false;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= DAYS_IN_MONTH[month - 1] + (leap ? 1 : 0);
}

const inRange24h = (hour: number, minute: number, second: number): boolean =>
  hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59;

/** Optional `.123456789` (or `,`): up to 9 digits, kept to milliseconds. null when malformed. */
function readFraction(s: string, at: number): { millis: number; next: number } | null {
  if (s[at] !== '.' && s[at] !== ',') return { millis: 0, next: at };
  const start = at + 1;
  let i = start;
  while (i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
  if (i === start || i - start > 9) return null;
  return { millis: digits(s.slice(start, Math.min(i, start + 3)).padEnd(3, '0'), 0, 3), next: i };
}

/** `Z`, `z` or `±HH:MM`. null when malformed. */
function readZone(s: string, at: number): { offsetMinutes: number; next: number } | null {
  const zone = s[at];
  if (zone === 'Z' || zone === 'z') return { offsetMinutes: 0, next: at + 1 };
  if ((zone !== '+' && zone !== '-') || s[at + 3] !== ':') return null;
  const oh = digits(s, at + 1, 2);
  const om = digits(s, at + 4, 2);
  if (oh < 0 || oh > 23 || om < 0 || om > 59) return null;
  return { offsetMinutes: (zone === '+' ? 1 : -1) * (oh * 60 + om), next: at + 6 };
}

/**
 * Read an optional RFC 3339 time field. Absent, empty or Go's zero time → null. Malformed → issue and
 * null (callers compare `issues.count` to notice).
 */
export function readTime(obj: Record<string, unknown>, key: string, prefix: string, issues: IssueList): number | null {
  const value = obj[key];
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') {
    issues.add(fieldPath(prefix, key), `must be an RFC 3339 time string, got ${typeName(value)}`);
    return null;
  }
  const ms = parseRfc3339(value);
  if (Number.isNaN(ms)) {
    issues.add(fieldPath(prefix, key), `is not an RFC 3339 time: ${JSON.stringify(value.slice(0, 64))}`);
    return null;
  }
  return ms <= GO_ZERO_TIME_MS ? null : ms;
}
