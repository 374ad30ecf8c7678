// Pure delivery outcome: what one attempt's result means for the delivery. 2xx is sent; network
// errors, timeouts, 408, 5xx and 429 are retried with exponential backoff (429/503 honour Retry-After);
// any other answer can never succeed by repeating it, so it fails at once; and after max_attempts a
// retryable failure fails too. Reasons are named so they reach metrics, the API and the logs.

export type AttemptResult =
  | { kind: 'response'; status: number; retryAfter: string | null; body: string }
  | { kind: 'error'; reason: 'timeout' | 'network' | 'secret' | 'internal'; message: string };

export type RetryDecision =
  | { outcome: 'sent' }
  | { outcome: 'retry'; reason: string; delayMs: number; error: string }
  | { outcome: 'failed'; reason: string; error: string };

export interface RetryPolicy {
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
  /** Upper bound on a receiver's Retry-After, so a hostile or broken receiver cannot park a delivery for days. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, baseMs: 2_000, maxMs: 300_000, maxRetryAfterMs: 3_600_000 };

/** Retry-After as seconds or an HTTP date → ms from now; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Exponential backoff with ±20% jitter: base, 2×base, 4×base… capped. */
function backoff(attempt: number, p: RetryPolicy, random: () => number): number {
  const raw = Math.min(p.maxMs, p.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}

/** `attempt` is the number of the attempt that just finished (1 for the first). */
export function decide(result: AttemptResult, attempt: number, p: RetryPolicy, now: number, random: () => number): RetryDecision {
  let reason: string;
  let error: string;
  let delayMs = backoff(attempt, p, random);
  if (result.kind === 'response') {
    const s = result.status;
    if (s >= 200 && s < 300) return { outcome: 'sent' };
    reason = `http-${s}`;
    error = `HTTP ${s}${result.body ? `: ${result.body.slice(0, 200)}` : ''}`;
    const retryable = s === 408 || s === 429 || s >= 500;
    if (!retryable) return { outcome: 'failed', reason, error };
    const after = s === 429 || s === 503 ? parseRetryAfter(result.retryAfter, now) : null;
    if (after !== null) delayMs = Math.min(Math.max(after, 0), p.maxRetryAfterMs);
  } else {
    reason = result.reason;
    error = result.message;
    if (result.reason === 'internal') return { outcome: 'failed', reason, error };
  }
  if (attempt >= p.maxAttempts) return { outcome: 'failed', reason: 'max-attempts', error: `gave up after ${attempt} attempts; last: ${error}` };
  return { outcome: 'retry', reason, delayMs, error };
}
