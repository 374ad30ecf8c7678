// Values on their way to PostgreSQL. It refuses two things SQLite stores happily: NUL characters in
// text and numbers outside bigint. Both can arrive in sender data, and a refused value fails the whole
// batch — every caller in it would get 503 and retry the same poison forever. So they are neutralised
// before they are sent. Literals and array text forms are written here too, without pg's helpers.

const NUL = /\u0000/g;

/** Text without NUL characters (replaced by U+FFFD, so the change stays visible). */
export function text(s: string): string {
  return s.includes('\u0000') ? s.replace(NUL, '\uFFFD') : s;
}

// The range JavaScript dates can represent; anything further out is meaningless as a time anyway.
const MAX_MS = 8.64e15;

/** An integral epoch-ms value within ±8.64e15; non-finite input becomes 0. */
export function ms(n: number): number {
  if (!Number.isFinite(n)) return 0;
  return Math.trunc(Math.min(Math.max(n, -MAX_MS), MAX_MS));
}

export function msOrNull(n: number | null): number | null {
  return n === null || !Number.isFinite(n) ? null : ms(n);
}

/**
 * A string literal for SQL text, as pg's escapeLiteral() writes it: quotes doubled, and where there is
 * a backslash, an E'' literal with backslashes doubled. pg builds its result one character at a time,
 * a string piece per character; at a batch's keys (tens of KB in BEGIN's round trip) that was a fifth
 * of a replica's promoted bytes under 64-alert posts (issue #12).
 */
export function literal(s: string): string {
  const quoted = `'${s.includes("'") ? s.replaceAll("'", "''") : s}'`;
  return s.includes('\\') ? ` E${quoted.replaceAll('\\', '\\\\')}` : quoted;
}

const ESCAPED = /[\\"]/g;

/**
 * An array's text form, which PostgreSQL reads for any array type: strings double-quoted with `"` and
 * `\` escaped by `\` (only where there is one), numbers as they are, null as NULL. The write's
 * parameters go in this form instead of as JS arrays: pg converts those element by element, checking
 * each one's type and escaping every string in two passes, on the event loop that serves HTTP
 * (issue #12). Built by one join, so the text is flat from the start: a string grown by `+=` is a
 * chain of pieces that pg's byteLength() then copied once more, and both outlived the round trip
 * into the old generation (issue #12: about a third of a replica's promoted bytes under 64-alert posts).
 */
export function arrayText(values: readonly unknown[]): string {
  if (values.length === 0) return '{}';
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) parts[i] = 'NULL';
    else if (typeof v === 'number') parts[i] = String(v);
    else {
      const t = String(v);
      parts[i] = `"${t.includes('"') || t.includes('\\') ? t.replace(ESCAPED, '\\$&') : t}"`;
    }
  }
  // The braces go on the first and last parts: wrapping the joined text would make it a chain again.
  parts[0] = `{${parts[0]}`;
  parts[parts.length - 1] += '}';
  return parts.join(',');
}

/**
 * A text[] literal: the array's text form, quoted as a string literal by pg. The read rides in
 * BEGIN's simple-protocol round trip, which carries no parameters.
 */
export function textArray(values: readonly string[]): string {
  return `${literal(arrayText(values))}::text[]`;
}
