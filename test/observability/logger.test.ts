// Secrets never reach the logs: the logger's redaction, URL scrubbing, and the app's own log lines.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import request from 'supertest';
import { createLogger, scrubUrl } from '../../src/observability/logger.ts';
import { INGEST_TOKEN, READ_TOKEN, makeApp } from '../support/app.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  return { lines, logger: createLogger({ level: 'debug', destination }) };
}

describe('observability: secrets stay out of logs', () => {
  it('redacts authorization headers, tokens and token lists wherever they sit', () => {
    const { lines, logger } = capture();
    logger.info({ req: { headers: { authorization: 'Bearer s3cret-header-token' } } }, 'request');
    logger.info({ auth: { ingest_tokens: ['s3cret-ingest-token'], admin_tokens: ['s3cret-admin-token'] } }, 'config');
    logger.warn({ token: 's3cret-plain-token', store: { url: 'postgres://u:s3cret-pw@db/ks' } }, 'oops');
    const out = lines.join('');
    for (const secret of ['s3cret-header-token', 's3cret-ingest-token', 's3cret-admin-token', 's3cret-plain-token', 's3cret-pw']) {
      assert.ok(!out.includes(secret), `${secret} leaked: ${out}`);
    }
    assert.match(out, /\[redacted\]/);
  });

  it('scrubs passwords from URLs that must be named', () => {
    assert.equal(scrubUrl('postgres://ks:hunter2@db:5432/ks'), 'postgres://ks:***@db:5432/ks');
    assert.equal(scrubUrl('not a url'), '[unparseable url]');
  });

  it('the app logs no token it is sent, even when it logs a failure', async () => {
    const t = await makeApp();
    try {
      await request(t.app.handler).post('/api/v2/alerts').set('authorization', 'Bearer wrong-token-must-not-leak').send([]);
      await request(t.app.handler).get('/api/errors').set('authorization', 'Bearer another-wrong-token-xyz');
      await t.store.close(); // the next ingest fails and is logged at error level
      const r = await request(t.app.handler).post('/api/v2/alerts').set('authorization', `Bearer ${INGEST_TOKEN}`).send([{ labels: { alertname: 'X' } }]);
      assert.equal(r.status, 503);
      const out = t.logs.join('');
      assert.match(out, /store could not commit/, 'the failure itself is logged');
      for (const secret of ['wrong-token-must-not-leak', 'another-wrong-token-xyz', INGEST_TOKEN, READ_TOKEN]) {
        assert.ok(!out.includes(secret), `${secret} leaked into the logs`);
      }
    } finally {
      await t.app.close();
    }
  });
});
