// The PostgreSQL adapter's pure parts, no database needed: what counts as "cannot commit now", the
// NOTIFY payload format (size limits, hostile payloads), input sanitising and LISTEN reconnect backoff.
import assert from 'node:assert/strict';
import { AppError } from '../../src/domain/errors.ts';
import { isRetryable, isUnavailable, toStoreError } from '../../src/store/postgres/errors.ts';
import { decodeChange, encodeChange } from '../../src/store/postgres/notify-payload.ts';
import { PgNotifier } from '../../src/store/postgres/notifier.ts';
import { iso } from '../../src/store/rows.ts';
import { escapeLiteral } from 'pg';
import { literal, ms, text } from '../../src/store/postgres/sanitize.ts';
import type { AuditEntry } from '../../src/store/types.ts';

const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });

describe('postgres errors', () => {
  it('maps connection loss, shutdown, resource and timeout failures to store_unavailable (503)', () => {
    const unavailable = [
      pgError('ECONNREFUSED'), pgError('ECONNRESET'), pgError('ETIMEDOUT'), pgError('EPIPE'),
      pgError('08006'), pgError('08001'), pgError('57P01'), pgError('57P03'), pgError('53300'), pgError('53100'),
      pgError('57014'), pgError('55P03'),
      new Error('Connection terminated unexpectedly'), new Error('timeout exceeded when trying to connect'),
      new Error('Client has encountered a connection error and is not queryable'), new Error('Query read timeout'),
      new Error('Cannot use a pool after calling end on the pool'),
    ];
    for (const err of unavailable) {
      assert.ok(isUnavailable(err), err.message);
      const mapped = toStoreError(err);
      assert.ok(mapped instanceof AppError && mapped.code === 'store_unavailable' && mapped.status === 503, err.message);
      assert.equal((mapped as AppError).cause, err);
    }
  });

  it('leaves bugs and data errors alone, and retries only serialization failures and deadlocks', () => {
    for (const err of [pgError('23505'), pgError('42P01'), pgError('22P02'), new TypeError('x'), pgError('40001')]) {
      assert.equal(isUnavailable(err), false, err.message);
      assert.equal(toStoreError(err), err);
    }
    assert.deepEqual([pgError('40001'), pgError('40P01'), pgError('57P01'), pgError('23505')].map(isRetryable), [true, true, false, false]);
  });
});

describe('postgres NOTIFY payloads', () => {
  const entry: AuditEntry = {
    id: 7, requestId: 3, groupId: 9, at: '2025-01-15T12:00:00.000Z', rule: 'crashloop', action: 'restart-pod',
    namespace: 'shop', target: 'Pod/web-1', outcome: 'acted', reason: 'ok', message: 'é'.repeat(10_000), actor: 'leader',
  };

  it('splits large id lists under the 8000-byte limit and round-trips every id and flag', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => 1_000_000_000_000_000 + i);
    const payloads = encodeChange('origin-1', { groupIds: ids, remediationQueued: true, settings: { enabled: true, dryRun: false, maxActionsPerHour: 4 }, audit: [entry] });
    assert.equal(payloads.length, 4, 'three id chunks and the audit entry');
    for (const p of payloads) assert.ok(Buffer.byteLength(p) < 8000, `${Buffer.byteLength(p)} bytes`);
    const decoded = payloads.map((p) => decodeChange(p)!);
    assert.deepEqual(decoded.flatMap((d) => d.change.groupIds), ids);
    assert.deepEqual(decoded.map((d) => [d.origin, d.change.remediationQueued, Boolean(d.change.settings)]),
      [['origin-1', true, true], ['origin-1', false, false], ['origin-1', false, false], ['origin-1', false, false]]);
    const audit = decoded[3].change.audit![0];
    assert.equal(audit.id, 7);
    assert.ok(audit.message.endsWith('…') && audit.message.length < 2100, 'multi-byte text is cut to fit');
  });

  it('an empty change is still one message (a queued request with no changed group is not lost)', () => {
    assert.deepEqual(encodeChange('o', { groupIds: [], remediationQueued: true }).map(decodeChange),
      [{ origin: 'o', change: { groupIds: [], remediationQueued: true } }]);
  });

  it('drops malformed or hostile payloads instead of throwing on the listener connection', () => {
    for (const p of [undefined, '', 'not json', 'null', '[]', '{"g":[1]}', '{"o":1,"g":[]}', '{"o":"x","g":"1"}']) {
      assert.equal(decodeChange(p), null, String(p));
    }
    const d = decodeChange(JSON.stringify({ o: 'x', g: [1, -2, 0, 1.5, '3', 2 ** 60, 4], r: 'yes',
      a: { ...entry, outcome: 'rm -rf' }, s: { enabled: 'true', dryRun: true, maxActionsPerHour: 1 } }));
    assert.deepEqual(d, { origin: 'x', change: { groupIds: [1, 4], remediationQueued: false } });
  });
});

describe('postgres input sanitising', () => {
  it('replaces NUL, clamps times to what a Date can show, and renders them', () => {
    assert.equal(text('a\u0000b\u0000'), 'a\uFFFDb\uFFFD');
    assert.equal(text('plain'), 'plain');
    assert.deepEqual([ms(1.9), ms(-1e300), ms(1e300), ms(Number.NaN), ms(Number.POSITIVE_INFINITY)], [1, -8.64e15, 8.64e15, 0, 0]);
    assert.equal(iso(1e300), '+275760-09-13T00:00:00.000Z');
  });

  it('quotes SQL string literals exactly as pg.escapeLiteral does', () => {
    for (const s of ['', 'plain', "it's", "''", '\\', 'a\\b', "\\'; DROP TABLE x; --", 'ünïcødé 𝄞', '{"a":"b"}', `${"'".repeat(3)}x\\`.repeat(50)]) {
      assert.equal(literal(s), escapeLiteral(s), JSON.stringify(s));
    }
  });
});

describe('PgNotifier reconnect backoff', () => {
  it('backs off exponentially with full jitter up to the ceiling while the database is unreachable', async () => {
    const waits: number[] = [];
    let notifier: PgNotifier;
    const stopped = new Promise<void>((resolve) => {
      notifier = new PgNotifier({
        url: 'postgres://postgres@127.0.0.1:1/none', channel: 'c', applicationName: 't', connectTimeoutMs: 1000,
        onPayload: () => assert.fail('no payloads'), onReconnect: () => assert.fail('never connected'),
        backoff: { initialMs: 100, maxMs: 1000 },
        random: () => 0.5,
        clock: {
          sleep: async (wait) => {
            waits.push(wait);
            if (waits.length === 6) resolve();
          },
        },
      });
      notifier.start();
    });
    await stopped;
    await notifier!.stop();
    assert.deepEqual(waits, [50, 100, 200, 400, 500, 500]);
    assert.equal(notifier!.connected, false);
  });
});
