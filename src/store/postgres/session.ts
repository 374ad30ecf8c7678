// Connection handling for the PostgreSQL store: one deliberately limited pool per store, type parsing
// that keeps epoch-millisecond columns as numbers, and the transaction runner with bounded retries.
import { Pool, types as pgTypes } from 'pg';
import type { CustomTypesConfig, PoolClient, QueryResult, QueryResultRow } from 'pg';
import type { Socket } from 'node:net';
import type { Clock, Logger } from '../../domain/ports.ts';
import { isRetryable, isUnavailable, toStoreError } from './errors.ts';

/** What the store logs through: the shared Logger port, of which it uses two levels. */
export type StoreLogger = Pick<Logger, 'info' | 'warn'>;

export interface SessionOptions {
  url: string;
  /** Dashboard role: every transaction is read-only on the server too, not only in our code. */
  readOnly: boolean;
  /** Connections per process. Three webhook replicas + a dashboard stay far below max_connections. */
  poolMax: number;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  applicationName: string;
  logger?: StoreLogger;
}

const INT8 = 20;
const NUMERIC = 1700;

// Times are epoch ms and counts are far below 2^53, so int8 (and numeric sums) parse as numbers.
// Passed per pool: pg's global type registry is a module-level singleton we leave alone.
const TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8 || oid === NUMERIC) return Number; // never called for NULL
    return pgTypes.getTypeParser(oid, format);
  }) as CustomTypesConfig['getTypeParser'],
};

export function createPool(opts: SessionOptions): Pool {
  const pool = new Pool({
    connectionString: opts.url,
    max: opts.poolMax,
    // Fail fast while the database is away: ingest answers 503 and senders retry, rather than piling
    // up requests waiting for a connection.
    connectionTimeoutMillis: opts.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    // Spread reconnect storms after a failover and let PgBouncer/HAProxy rebalance.
    maxLifetimeSeconds: 1800,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: opts.applicationName,
    statement_timeout: opts.statementTimeoutMs,
    // A stuck process must not hold row or advisory locks that other replicas wait on.
    idle_in_transaction_session_timeout: Math.max(10_000, 2 * opts.statementTimeoutMs),
    // No pg query_timeout: the store runs watchStalls() below as the client-side backstop instead.
    options: opts.readOnly ? '-c default_transaction_read_only=on' : undefined,
    types: TYPES,
    // pg encodes every string as UTF-8 (the write's binary arrays too): say so, whatever the
    // database's own encoding, so the server converts or refuses instead of misreading.
    client_encoding: 'UTF8',
  });
  // Without a listener, an idle connection killed by a restart or failover would crash the process.
  pool.on('error', (err) => opts.logger?.warn({ err: err.message }, 'postgres: idle connection lost'));
  return pool;
}

interface Watched { read: number; written: number; waitingSince: number | null; boundMs: number }

/** watchStalls()'s handle: stop it, or give one checked-out connection a longer statement timeout. */
export interface StallWatch {
  stop(): void;
  /** Until `client` is released, it may stay silent for `statementTimeoutMs` plus the slack. */
  allow(client: PoolClient, statementTimeoutMs: number): void;
}

const socketOf = (c: PoolClient): Socket | undefined => (c as unknown as { connection?: { stream?: Socket } }).connection?.stream;

/**
 * The client-side backstop for a silently dropped network path, where the server's statement_timeout
 * never gets to answer: a checked-out connection that has sent something and heard nothing back for
 * the statement timeout plus 5 s is closed, so its statement fails as store_unavailable instead of
 * hanging. It reads the socket's byte counters once a second. pg's own query_timeout does this with a
 * timer per statement whose closure holds the query and its rows; under a read load V8 then promoted
 * nearly every result to the old generation (the dashboard's listing at 100k groups: 55–57
 * mark-compacts in 10 s instead of 4–5, p99 17.5–18.5 ms instead of 6.9–8.2 ms; docs/benchmarks.md).
 */
export function watchStalls(pool: Pool, statementTimeoutMs: number, o: { logger?: StoreLogger; everyMs?: number; slackMs?: number } = {}): StallWatch {
  const { logger, everyMs = 1000, slackMs = 5000 } = o;
  const watched = new Map<PoolClient, Watched>();
  pool.on('acquire', (c) => {
    const s = socketOf(c);
    watched.set(c, { read: s?.bytesRead ?? 0, written: s?.bytesWritten ?? 0, waitingSince: null, boundMs: statementTimeoutMs + slackMs });
  });
  pool.on('release', (_err, c) => watched.delete(c));
  pool.on('remove', (c) => watched.delete(c));
  const timer = setInterval(() => {
    const now = Date.now();
    for (const [c, w] of watched) {
      const s = socketOf(c);
      if (!s) continue;
      const wrote = s.bytesWritten !== w.written;
      // Bytes written in the same interval as an answer may be the next statement: wait on it from
      // now. (A checkout that sent nothing since its last answer is done or about to be released.)
      if (s.bytesRead !== w.read) w.waitingSince = wrote ? now : null;
      else if (wrote) w.waitingSince ??= now;
      w.read = s.bytesRead;
      w.written = s.bytesWritten;
      if (w.waitingSince !== null && now - w.waitingSince >= w.boundMs) {
        watched.delete(c);
        logger?.warn({ waitedMs: now - w.waitingSince }, 'postgres: no answer on a connection in use; closing it');
        s.destroy(); // pg fails the statement with "Connection terminated unexpectedly" (store_unavailable)
      }
    }
  }, everyMs);
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    allow: (client, ms) => {
      const w = watched.get(client);
      if (w) w.boundMs = ms + slackMs;
    },
  };
}

export interface Tx extends Pick<PoolClient, 'query'> {
  /**
   * Parameterless statements to send in COMMIT's round trip (their literals escaped by the caller):
   * a NOTIFY rides with the commit instead of costing a round trip of its own.
   */
  atCommit?: string[];
  /** The results of TransactionOptions.begin's statements, in order (BEGIN's own is not among them). */
  begun?: QueryResult[];
}

export interface TransactionOptions {
  /** Parameterless statements sent in BEGIN's round trip (e.g. the batch's advisory locks and read). */
  begin?: string;
  /**
   * A statement timeout for this transaction other than the pool's (housekeeping that may delete a
   * lot): set with SET LOCAL in BEGIN's round trip, and told to the pool's stall watch.
   */
  statementTimeout?: { ms: number; stalls: StallWatch };
}

export async function rows<T extends QueryResultRow>(db: Tx, sql: string, params: unknown[] = []): Promise<T[]> {
  return (await db.query<T>(sql, params)).rows;
}

export async function one<T extends QueryResultRow>(db: Tx, sql: string, params: unknown[] = []): Promise<T | undefined> {
  return (await db.query<T>(sql, params)).rows[0];
}

export interface RetryPolicy {
  attempts: number;
  sleep: Clock['sleep'];
  random: () => number;
  onRetry?: (info: { code: string; attempt: number }) => void;
}

/**
 * Runs fn inside BEGIN … COMMIT on one pooled connection. Serialization failures and deadlocks roll
 * back completely, so the whole function runs again (bounded, with jittered backoff); "cannot commit
 * now" failures become store_unavailable and the connection is discarded rather than reused.
 */
export async function transaction<T>(pool: Pool, retry: RetryPolicy, fn: (tx: Tx) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transactionOnce(pool, fn, opts);
    } catch (err) {
      if (!isRetryable(err) || attempt >= retry.attempts) throw toStoreError(err);
      retry.onRetry?.({ code: String((err as { code?: unknown }).code), attempt });
      await retry.sleep((5 + retry.random() * 20) * 2 ** (attempt - 1));
    }
  }
}

async function transactionOnce<T>(pool: Pool, fn: (tx: Tx) => Promise<T>, opts: TransactionOptions): Promise<T> {
  const client = await pool.connect().catch((err: unknown) => { throw toStoreError(err); });
  // An error on a checked-out client would otherwise be an unhandled 'error' event; the failing
  // query rejects on its own, which is what we act on.
  const onError = (): void => {};
  client.on('error', onError);
  let broken: Error | undefined;
  try {
    // A simple-protocol query may hold several statements; each still takes its own snapshot.
    // Several statements answer with one result each.
    const long = opts.statementTimeout;
    if (long) long.stalls.allow(client, long.ms);
    const first = long ? `BEGIN; SET LOCAL statement_timeout = ${Math.trunc(long.ms)}` : 'BEGIN';
    const begun = opts.begin ? (await client.query(`${first}; ${opts.begin}`) as unknown as QueryResult[]).slice(long ? 2 : 1)
      : (await client.query(first), []);
    const tx: Tx = { query: client.query.bind(client) as PoolClient['query'], atCommit: [], begun };
    const result = await fn(tx);
    await client.query([...tx.atCommit!, 'COMMIT'].join('; '));
    return result;
  } catch (err) {
    if (isUnavailable(err)) {
      broken = err as Error;
    } else {
      // Best effort: if even ROLLBACK fails the connection is in an unknown state, so drop it.
      await client.query('ROLLBACK').catch((e: unknown) => { broken = e as Error; });
    }
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken ?? false);
  }
}

/** A single autocommit statement, with the same error mapping as transactions. */
export async function run<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toStoreError(err);
  }
}
