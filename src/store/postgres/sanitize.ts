// PostgreSQL refuses two things SQLite stores happily: NUL characters in text and numbers outside
// bigint. Both can arrive in sender data, and a refused value fails the whole batch — every caller in
// it would get 503 and retry the same poison forever. So they are neutralised before they are sent.

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
