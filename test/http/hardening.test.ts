// What every answer carries and what the HTTP layer refuses before any route runs: parser-level
// refusals with the JSON envelope, security headers, malformed percent-encoding (400 at debug), early
// refusals that still reach a client that is uploading, and Express routes' media rules.
import assert from 'node:assert/strict';
import request from 'supertest';
import { listen, type ListeningServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { ADMIN_TOKEN, INGEST_TOKEN, READ_TOKEN, makeApp, type TestApp } from '../support/app.ts';
import { testPki } from '../support/pki.ts';
import { http, rawRequest, type RawReply } from './raw-client.ts';

const AUTH = `Authorization: Bearer ${INGEST_TOKEN}`;
const JSON_TYPE = 'Content-Type: application/json';

function assertEnvelope(r: RawReply, status: number, code: string): void {
  assert.equal(r.status, status, `${r.status} ${r.body.slice(0, 200)}`);
  assert.equal(r.json?.error?.code, code, r.body.slice(0, 200));
  assert.equal(typeof r.json.error.message, 'string');
  assert.ok(Array.isArray(r.json.error.details));
  assert.match(r.headers['content-type'] ?? '', /^application\/json/);
}

describe('HTTP hardening', () => {
  let t: TestApp;
  let server: ListeningServer;
  let dash: TestApp;
  let dashServer: ListeningServer;
  const debugLines: string[] = [];
  before(async () => {
    const pki = await testPki();
    t = await makeApp({ config: { web: { body_limit: '64kb' } } });
    dash = await makeApp({ config: { role: 'dashboard', web: { body_limit: '64kb' } } });
    const logger = createLogger({ level: 'debug', destination: { write: (s: string) => { debugLines.push(s); return true; } } as never });
    const tls = { certFile: pki.certFile, keyFile: pki.keyFile };
    server = await listen({ handler: t.app.handler, tls, listen: '127.0.0.1:0', logger });
    dashServer = await listen({ handler: dash.app.handler, tls, listen: '127.0.0.1:0', logger });
  });
  after(async () => {
    await Promise.all([server.close(100), dashServer.close(100)]);
    await Promise.all([t.close(), dash.close()]);
  });
  const raw = (bytes: string, extra: Partial<Parameters<typeof rawRequest>[1]> = {}) => rawRequest(bytes, { port: server.port, ...extra });

  describe('parser-level refusals answer with the envelope', () => {
    const cases: Array<[string, string, number, string]> = [
      ['a header name with a space', http('GET', '/healthz', ['Bad Header: x']), 400, 'bad_request'],
      ['Content-Length together with Transfer-Encoding', http('POST', '/api/v2/alerts', [AUTH, JSON_TYPE, 'Content-Length: 2', 'Transfer-Encoding: chunked'], '[]'), 400, 'bad_request'],
      ['two different Content-Lengths', http('POST', '/api/v2/alerts', [AUTH, JSON_TYPE, 'Content-Length: 2', 'Content-Length: 3'], '[]'), 400, 'bad_request'],
      ['a non-numeric Content-Length', http('POST', '/api/v2/alerts', [AUTH, JSON_TYPE, 'Content-Length: abc'], '[]'), 400, 'bad_request'],
      ['broken chunked framing', http('POST', '/api/v2/alerts', [AUTH, JSON_TYPE, 'Transfer-Encoding: chunked'], 'zz\r\n[]\r\n0\r\n\r\n'), 400, 'bad_request'],
      ['a garbage request line', 'HELLO THERE\r\n\r\n', 400, 'bad_request'],
      ['a control character in a header value', http('GET', '/healthz', ['X-A: a\u0001b']), 400, 'bad_request'],
      ['a 20 KiB URL', http('GET', `/api/errors?q=${'a'.repeat(20 * 1024)}`), 431, 'headers_too_large'],
      ['20 KiB of headers', http('GET', '/healthz', [`X-Big: ${'a'.repeat(20 * 1024)}`]), 431, 'headers_too_large'],
    ];
    for (const [what, bytes, status, code] of cases) {
      it(what, async () => {
        const r = await raw(bytes);
        assertEnvelope(r, status, code);
        assert.equal(r.headers['strict-transport-security'], 'max-age=31536000');
        assert.equal(r.headers['x-content-type-options'], 'nosniff');
      });
    }
    it('logs them at debug, never at error', () => {
      const refused = debugLines.filter((l) => l.includes('HTTP parser'));
      assert.ok(refused.length >= cases.length, `${refused.length} debug lines`);
      assert.ok(refused.every((l) => JSON.parse(l).level === 'debug'));
    });
  });

  it('puts HSTS, nosniff and Cache-Control: no-store on API answers of every kind', async () => {
    const answers = [
      await request(t.app.handler).get('/healthz'),
      await request(t.app.handler).get('/api/errors').set('authorization', `Bearer ${READ_TOKEN}`),
      await request(t.app.handler).get('/api/errors'),
      await request(t.app.handler).post('/api/v2/alerts').send([]),
      await request(t.app.handler).get('/nope'),
      await request(t.app.handler).get('/metrics'),
    ];
    for (const r of answers) {
      assert.equal(r.headers['strict-transport-security'], 'max-age=31536000', String(r.status));
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.headers['cache-control'], 'no-store');
    }
  });

  describe('malformed percent-encoding in the path', () => {
    for (const path of ['/errors/%', '/api/errors/%zz', '/api/errors/%E0%A4%A', '/%ff', '/api/v2/alerts%']) {
      it(`${path} → 400 bad_request, logged at debug`, async () => {
        const before = t.logs.length;
        const r = await raw(http('GET', path, [`Authorization: Bearer ${READ_TOKEN}`]));
        assertEnvelope(r, 400, 'bad_request');
        const lines = t.logs.slice(before).map((l) => JSON.parse(l));
        assert.ok(lines.length > 0 && lines.every((l) => l.level === 'debug'), JSON.stringify(lines));
        assert.ok(!t.logs.slice(before).some((l) => l.includes('"stack"')), 'no stack trace');
      });
    }
  });

  describe('early refusals reach a client that is still uploading', () => {
    const upload = (port: number, path: string, headers: string[], bytes: number) =>
      rawRequest(http('POST', path, [...headers, JSON_TYPE, `Content-Length: ${bytes}`]), { port, upload: { bytes, readAfter: true }, timeoutMs: 15_000 });

    it('413 for a declared oversize body (2 MiB against 64 KiB) to a client that reads only after sending', async () => {
      const r = await upload(server.port, '/api/v2/alerts', [AUTH], 2 * 1024 * 1024);
      assertEnvelope(r, 413, 'payload_too_large');
    });
    it('413 even when the declared body is beyond what the server drains (40 MiB)', async () => {
      // Past the drain bound the server half-closes and lingers: a client that reads while it sends
      // (curl, Go, undici) sees the status; only a reset after the linger could cut it short.
      const bytes = 40 * 1024 * 1024;
      const r = await rawRequest(http('POST', '/api/v2/alerts', [AUTH, JSON_TYPE, `Content-Length: ${bytes}`]), { port: server.port, upload: { bytes }, timeoutMs: 15_000 });
      assertEnvelope(r, 413, 'payload_too_large');
    });
    it('413 for an undeclared (chunked) body that grows past the limit', async () => {
      const chunk = `${(32 * 1024).toString(16)}\r\n${' '.repeat(32 * 1024)}\r\n`;
      const r = await rawRequest(http('POST', '/api/v2/alerts', [AUTH, JSON_TYPE, 'Transfer-Encoding: chunked'], chunk.repeat(8)), { port: server.port });
      assertEnvelope(r, 413, 'payload_too_large');
    });
    it('403 read_only_role from the dashboard role while 1 MiB is being sent', async () => {
      const r = await upload(dashServer.port, '/api/v2/alerts', [AUTH], 1024 * 1024);
      assertEnvelope(r, 403, 'read_only_role');
    });
    it('401 for a missing token while the body is being sent', async () => {
      const r = await upload(server.port, '/webhooks/events', [], 1024 * 1024);
      assertEnvelope(r, 401, 'unauthorized');
    });
    it('415 for a non-JSON upload, 403 for a settings write without admin', async () => {
      const r = await rawRequest(http('POST', '/api/v2/alerts', [AUTH, 'Content-Type: text/plain', `Content-Length: ${1 << 20}`]),
        { port: server.port, upload: { bytes: 1 << 20, readAfter: true } });
      assertEnvelope(r, 415, 'unsupported_media_type');
      const s = await upload(dashServer.port, '/api/settings', [`Authorization: Bearer ${ADMIN_TOKEN}`], 512 * 1024);
      assertEnvelope(s, 403, 'read_only_role');
    });
  });

  describe('Express routes follow ingest\'s media rules', () => {
    const post = (path: string, token: string) => request(t.app.handler).post(path).set('authorization', `Bearer ${token}`);
    for (const [path, token] of [['/api/rules/test', READ_TOKEN], ['/api/settings', ADMIN_TOKEN]] as const) {
      it(`${path}: text/plain and gzip are 415 like ingest`, async () => {
        const text = await post(path, token).set('content-type', 'text/plain').send('{"message":"x"}');
        assert.equal(text.status, 415);
        assert.equal(text.body.error.code, 'unsupported_media_type');
        const gz = await post(path, token).set('content-type', 'application/json').set('content-encoding', 'gzip').send('{"message":"x"}');
        assert.equal(gz.status, 415);
        const latin = await post(path, token).set('content-type', 'application/json; charset=latin1').send('{"message":"x"}');
        assert.equal(latin.status, 415);
      });
    }
    it('still takes application/json', async () => {
      assert.equal((await post('/api/rules/test', READ_TOKEN).send({ message: 'OOMKilled' })).status, 200);
    });
  });
});
