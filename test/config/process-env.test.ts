import assert from 'node:assert/strict';
import { readProcessEnv } from '../../src/config/process-env.ts';
import { LoadError } from '../../src/domain/errors.ts';

describe('config: process environment (LOG_LEVEL, KS_SHUTDOWN_DELAY)', () => {
  it('defaults to info and 5 s', () => {
    assert.deepEqual(readProcessEnv({}), { logLevel: 'info', shutdownDelayMs: 5000 });
  });

  it('takes valid values', () => {
    assert.deepEqual(readProcessEnv({ LOG_LEVEL: 'debug', KS_SHUTDOWN_DELAY: '0s' }), { logLevel: 'debug', shutdownDelayMs: 0 });
    assert.equal(readProcessEnv({ KS_SHUTDOWN_DELAY: '90s' }).shutdownDelayMs, 90_000);
  });

  for (const [env, variable] of [
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
    [{ KS_SHUTDOWN_DELAY: 'five' }, 'KS_SHUTDOWN_DELAY'],
    [{ KS_SHUTDOWN_DELAY: '2h' }, 'KS_SHUTDOWN_DELAY'],
  ] as const) {
    it(`refuses ${JSON.stringify(env)} naming ${variable}`, () => {
      assert.throws(() => readProcessEnv(env), (e: unknown) => e instanceof LoadError && e.details.some((d) => d.path === variable));
    });
  }
});
