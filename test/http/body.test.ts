import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { AppError } from '../../src/domain/errors.ts';
import { InflightBudget, readJsonBudgeted } from '../../src/http/body.ts';

function request(body: string, headers: Record<string, string> = { 'content-type': 'application/json' }): IncomingMessage {
  const s = new PassThrough() as unknown as IncomingMessage & PassThrough;
  s.headers = headers;
  queueMicrotask(() => s.end(body));
  return s;
}

describe('http body: in-flight budget', () => {
  it('holds the bytes of a body until released, then frees them', async () => {
    const budget = new InflightBudget({ limitBytes: 100 });
    const read = await readJsonBudgeted(request('{"a":"0123456789"}'), 1000, budget);
    assert.deepEqual(read.body, { a: '0123456789' });
    assert.equal(budget.used, 18);
    read.release();
    read.release();
    assert.equal(budget.used, 0, 'release is idempotent');
  });

  it('answers overloaded (503) past the budget and keeps earlier reservations intact', async () => {
    const budget = new InflightBudget({ limitBytes: 40 });
    const first = await readJsonBudgeted(request(JSON.stringify({ x: 'y'.repeat(20) })), 1000, budget);
    await assert.rejects(readJsonBudgeted(request(JSON.stringify({ x: 'z'.repeat(20) })), 1000, budget),
      (err: unknown) => err instanceof AppError && err.code === 'overloaded' && err.status === 503);
    assert.equal(budget.used, 28, 'the refused body reserved nothing');
    first.release();
    const again = await readJsonBudgeted(request(JSON.stringify({ x: 'z'.repeat(20) })), 1000, budget);
    assert.equal(budget.used, 28);
    again.release();
  });

  it('returns the reservation when the body is invalid', async () => {
    const budget = new InflightBudget({ limitBytes: 100 });
    await assert.rejects(readJsonBudgeted(request('{"broken":'), 1000, budget), (err: unknown) => err instanceof AppError && err.code === 'invalid_json');
    assert.equal(budget.used, 0);
  });
});
