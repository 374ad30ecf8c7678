// Which PostgreSQL failures mean "cannot commit now" (→ store_unavailable, HTTP 503, senders retry)
// and which are worth retrying in place (serialization failures, deadlocks). Anything else is a bug or
// a schema problem and is passed through unchanged.
import { AppError } from '../../domain/errors.ts';

/** Socket-level failures reported by Node or by pg itself before any SQLSTATE exists. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH',
  'ENOTFOUND', 'EAI_AGAIN', 'ENETDOWN', 'EHOSTDOWN',
]);

// pg reports a dead connection, a full pool wait or its own client-side read timeout only in prose.
const PG_CLIENT_MESSAGES = [
  /^Connection terminated/,
  /timeout exceeded when trying to connect/,
  /not queryable/,
  /^Query read timeout/,
  /Cannot use a pool after calling end/,
];

// SQLSTATEs (PostgreSQL appendix A): 08 connection exception, 53 insufficient resources (too many
// connections, disk full), 57P01-57P05 admin/crash shutdown, cannot connect now, idle timeouts;
// 57014 query_canceled (statement_timeout), 55P03 lock_not_available (lock_timeout), 25006 read-only
// transaction on a server that was just demoted to a standby.
function unavailableSqlState(code: string): boolean {
  return code.startsWith('08') || code.startsWith('53') || /^57P0[1-5]$/.test(code)
    || code === '57014' || code === '55P03' || code === '25006';
}

const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

export function isUnavailable(err: unknown): boolean {
  if (err instanceof AppError) return err.code === 'store_unavailable';
  const code = codeOf(err);
  if (NETWORK_CODES.has(code) || unavailableSqlState(code)) return true;
  const message = (err as Error | null)?.message ?? '';
  return code === '' && PG_CLIENT_MESSAGES.some((re) => re.test(message));
}

/** Serialization failure or deadlock: the transaction rolled back and can simply run again. */
export function isRetryable(err: unknown): boolean {
  return RETRYABLE_SQLSTATES.has(codeOf(err));
}

/** The catalogue's store_unavailable for "cannot commit now"; every other error unchanged. */
export function toStoreError(err: unknown): unknown {
  if (err instanceof AppError || !isUnavailable(err)) return err;
  const code = codeOf(err);
  const e = new AppError('store_unavailable', `postgres: ${(err as Error).message}${code ? ` (${code})` : ''}`);
  e.cause = err;
  return e;
}
