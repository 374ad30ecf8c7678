// The project's own hostile-input corpus: requests an attacker (or a broken client) sends, each with
// the documented answer. Every answer must be that 4xx with the JSON envelope — never a 5xx, never a
// hang — and none may change what is stored.
import { http } from './raw-client.ts';
import { TOKENS, wsHandshake } from './stack.ts';

export interface HostileCase {
  name: string;
  listener: 'main' | 'admission';
  bytes: (ports: { main: number; admission: number }) => string;
  status: number;
  code: string;
  /** Kind of case, so the dashboard role knows what it should answer instead. */
  kind: 'read' | 'ingest-body' | 'admission-body' | 'admin-write' | 'other';
}

const R = `Authorization: Bearer ${TOKENS.read}`;
const I = `Authorization: Bearer ${TOKENS.ingest}`;
const A = `Authorization: Bearer ${TOKENS.admin}`;
const J = 'Content-Type: application/json';
const fixed = (s: string) => () => s;
const INGEST = ['/api/v2/alerts', '/api/v1/alerts', '/webhooks/alertmanager', '/webhooks/events'];

function queryCases(): HostileCase[] {
  const errors: Record<string, string[]> = {
    namespace: ['%00', 'a%00b', '%01', '%7f', 'n'.repeat(600)],
    pod: ['%00', '%0a%0d', 'p'.repeat(513)],
    rule: ['%00', 'r'.repeat(1000)],
    q: ['%00', 'abc%00def', '%1b[31m'],
    source: ['bogus', '%00', 'alert,event'],
    status: ['open', '%00'],
    priority: ['P5', 'p0', '%00', 'P1,,P2'],
    sort: ['id', '%00', 'priority;drop%20table%20error_groups'],
    order: ['up', '%00'],
    page: ['0', '-1', '1e300', '1.5', 'NaN', 'Infinity', '0x10', '99999999999999999999', '1000001', '%201'],
    page_size: ['0', '501', '1e3', '-5', 'abc'],
    since: ['99999999999999999999d', '1e300', '-1h', 'yesterday', '%00', '100000000h', `${'9'.repeat(400)}s`, '2026-13-45T99:99:99Z', '+275760-09-13T00:00:00Z'],
  };
  const history: Record<string, string[]> = {
    outcome: ['bogus', '%00'],
    reason: ['%00', 'x'.repeat(600)],
    namespace: ['%00'],
    rule: ['%00'],
    group_id: ['1e300', '-1', '0', '1.5', 'abc', '99999999999999999999', '0x1f', '%00', '9007199254740993'],
    page: ['0', '1e300'],
    page_size: ['1000'],
  };
  const out: HostileCase[] = [];
  for (const [route, table] of [['/api/errors', errors], ['/api/history', history]] as const) {
    for (const [key, values] of Object.entries(table)) {
      for (const v of values) {
        out.push({ name: `GET ${route}?${key}=${v.slice(0, 40)}`, listener: 'main', kind: 'read', status: 400, code: 'invalid_query',
          bytes: fixed(http('GET', `${route}?${key}=${v}`, [R])) });
      }
    }
  }
  return out;
}

function pathCases(): HostileCase[] {
  const bad = ['/errors/%', '/api/errors/%', '/api/errors/%zz', '/api/errors/%E0%A4%A', '/%ff', '/api/errors/%C0%AF', '/api/stats%', '/api/v2/alerts%zz'];
  const missing = ['/api/errors/1e300', '/api/errors/-1', '/api/errors/0', '/api/errors/99999999999999999999', '/api/errors/0x10',
    '/api/errors/1.5', '/api/errors/%00', '/api/errors/Infinity', '/api/errors/999999', '/api/nope', '/nope', '/api/errors/1/x',
    '/%2e%2e/%2e%2e/etc/passwd', '/api/..%2f..%2fetc%2fpasswd'];
  return [
    ...bad.map((p): HostileCase => ({ name: `GET ${p}`, listener: 'main', kind: 'read', status: 400, code: 'bad_request', bytes: fixed(http('GET', p, [R])) })),
    ...missing.map((p): HostileCase => ({ name: `GET ${p}`, listener: 'main', kind: 'read', status: 404, code: 'not_found', bytes: fixed(http('GET', p, [R])) })),
  ];
}

function methodCases(): HostileCase[] {
  const cases: Array<[string, string, number, string]> = [
    ['DELETE', '/api/v2/alerts', 405, 'method_not_allowed'], ['GET', '/api/v2/alerts', 405, 'method_not_allowed'],
    ['PUT', '/healthz', 405, 'method_not_allowed'], ['POST', '/healthz', 405, 'method_not_allowed'],
    ['POST', '/metrics', 405, 'method_not_allowed'], ['PATCH', '/webhooks/events', 405, 'method_not_allowed'],
    ['DELETE', '/api/errors', 404, 'not_found'], ['POST', '/api/errors', 404, 'not_found'], ['PUT', '/api/settings', 404, 'not_found'],
    ['GET', '/webhooks/admission', 404, 'not_found'],
  ];
  return cases.map(([m, p, status, code]) => ({ name: `${m} ${p}`, listener: 'main', kind: 'other', status, code, bytes: fixed(http(m, p, [R])) }));
}

function authCases(): HostileCase[] {
  const variants = ['Authorization: Basic YWRtaW46YWRtaW4=', 'Authorization: Bearer', 'Authorization: Bearer  ', `Authorization: bearer ${TOKENS.ingest} extra`,
    `Authorization: Bearer ${'t'.repeat(8000)}`, `Authorization: Bearer ${TOKENS.ingest.slice(0, -1)}`];
  const out: HostileCase[] = [];
  for (const v of variants) {
    out.push({ name: `POST /api/v2/alerts with "${v.slice(0, 40)}"`, listener: 'main', kind: 'ingest-body', status: 401, code: 'unauthorized', bytes: fixed(http('POST', '/api/v2/alerts', [v, J], '[]')) });
    out.push({ name: `GET /api/errors with "${v.slice(0, 40)}"`, listener: 'main', kind: 'read', status: 401, code: 'unauthorized', bytes: fixed(http('GET', '/api/errors', [v])) });
  }
  return out;
}

function ingestBodyCases(): HostileCase[] {
  const out: HostileCase[] = [];
  const generic: Array<[string, string[], string, number, string]> = [
    ['no Content-Type', [I], '[]', 415, 'unsupported_media_type'],
    ['text/plain', [I, 'Content-Type: text/plain'], '[]', 415, 'unsupported_media_type'],
    ['charset=latin1', [I, 'Content-Type: application/json; charset=latin1'], '[]', 415, 'unsupported_media_type'],
    ['Content-Encoding: gzip', [I, J, 'Content-Encoding: gzip'], '[]', 415, 'unsupported_media_type'],
    ['an empty body', [I, J, 'Content-Length: 0'], '', 400, 'invalid_json'],
    ['truncated JSON', [I, J], '[{"labels":', 400, 'invalid_json'],
    ['a byte-order mark', [I, J], '\uFEFF[]', 400, 'invalid_json'],
    ['20,000 unclosed brackets', [I, J], '['.repeat(20_000), 400, 'invalid_json'],
    ['a declared 10 MB body', [I, J, 'Content-Length: 10000000'], '', 413, 'payload_too_large'],
    ['a 70 KiB body over the 64 KiB limit', [I, J], `[${' '.repeat(70 * 1024)}]`, 413, 'payload_too_large'],
    ['null', [I, J], 'null', 400, 'invalid_payload'],
    ['a string', [I, J], '"alerts"', 400, 'invalid_payload'],
  ];
  for (const path of INGEST) {
    for (const [what, head, body, status, code] of generic) {
      out.push({ name: `POST ${path}: ${what}`, listener: 'main', kind: 'ingest-body', status, code, bytes: fixed(http('POST', path, head, body)) });
    }
  }
  const specific: Array<[string, string]> = [
    ['/api/v2/alerts', '{}'], ['/api/v2/alerts', '[1,2]'], ['/api/v2/alerts', '[{"labels":{}}]'],
    ['/api/v2/alerts', '[{"labels":{"__proto__":"x"}}]'], ['/api/v2/alerts', '[{"labels":{"a":1}}]'],
    ['/api/v2/alerts', '[{"labels":{"a":"b"},"startsAt":"yesterday"}]'], ['/api/v2/alerts', `[{"labels":{"a":"${'v'.repeat(17_000)}"}}]`],
    ['/api/v1/alerts', '[{"labels":{"a":"b"},"endsAt":1e300}]'], ['/api/v1/alerts', '[{"labels":{"":"x"}}]'],
    ['/webhooks/alertmanager', '{}'], ['/webhooks/alertmanager', '{"alerts":{}}'], ['/webhooks/alertmanager', '{"alerts":[1]}'],
    ['/webhooks/alertmanager', '{"alerts":[{"status":"exploded","labels":{"a":"b"}}]}'],
    ['/webhooks/events', '{"involvedObject":5}'], ['/webhooks/events', '[{}]'], ['/webhooks/events', '{"items":[null]}'],
    ['/webhooks/events', '{"reason":"BackOff","message":"m","involvedObject":{"kind":"Pod","name":5}}'],
  ];
  for (const [path, body] of specific) {
    out.push({ name: `POST ${path}: ${body.slice(0, 50)}`, listener: 'main', kind: 'ingest-body', status: 400, code: 'invalid_payload', bytes: fixed(http('POST', path, [I, J], body)) });
  }
  return out;
}

function admissionCases(): HostileCase[] {
  const p = '/webhooks/admission';
  const cases: Array<[string, string, number, string, HostileCase['kind']]> = [
    ['text/plain', http('POST', p, ['Content-Type: text/plain'], '{}'), 415, 'unsupported_media_type', 'admission-body'],
    ['an empty body', http('POST', p, [J, 'Content-Length: 0']), 400, 'invalid_json', 'admission-body'],
    ['truncated JSON', http('POST', p, [J], '{"request":'), 400, 'invalid_json', 'admission-body'],
    ['{}', http('POST', p, [J], '{}'), 400, 'invalid_payload', 'admission-body'],
    ['a request without uid', http('POST', p, [J], '{"request":{}}'), 400, 'invalid_payload', 'admission-body'],
    ['a numeric uid', http('POST', p, [J], '{"request":{"uid":5}}'), 400, 'invalid_payload', 'admission-body'],
    ['a declared 10 MB body', http('POST', p, [J, 'Content-Length: 10000000']), 413, 'payload_too_large', 'admission-body'],
    ['GET', http('GET', p), 405, 'method_not_allowed', 'other'],
    ['PUT', http('PUT', p, [J], '{}'), 405, 'method_not_allowed', 'other'],
    ['another path', http('POST', `${p}/x`, [J], '{}'), 404, 'not_found', 'other'],
    ['malformed escapes', http('POST', `${p}%zz`, [J], '{}'), 400, 'bad_request', 'other'],
    ['the ingest route', http('POST', '/api/v2/alerts', [I, J], '[]'), 404, 'not_found', 'other'],
  ];
  return cases.map(([what, bytes, status, code, kind]) => ({ name: `admission listener: ${what}`, listener: 'admission', kind, status, code, bytes: fixed(bytes) }));
}

function expressBodyCases(): HostileCase[] {
  const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (const [prev, name] of [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e'], ['e', 'f']]) bomb.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
  const rt = '/api/rules/test';
  const cases: Array<[string, string, string[], string, number, string]> = [
    [rt, 'text/plain', [R, 'Content-Type: text/plain'], '{"message":"x"}', 415, 'unsupported_media_type'],
    [rt, 'gzip', [R, J, 'Content-Encoding: gzip'], '{"message":"x"}', 415, 'unsupported_media_type'],
    [rt, 'truncated JSON', [R, J], '{"message":', 400, 'invalid_json'],
    [rt, 'an array', [R, J], '[]', 400, 'bad_request'],
    [rt, '{}', [R, J], '{}', 400, 'bad_request'],
    [rt, 'numeric message', [R, J], '{"message":5}', 400, 'bad_request'],
    [rt, 'rules not text', [R, J], '{"rules":5,"message":"x"}', 400, 'invalid_rules'],
    [rt, 'broken YAML', [R, J], '{"rules":"rules: [","message":"x"}', 400, 'invalid_rules'],
    [rt, 'a YAML alias bomb', [R, J], JSON.stringify({ rules: `${bomb.join('\n')}\nrules: [*f]\n`, message: 'x' }), 400, 'invalid_rules'],
    [rt, 'an invalid pattern', [R, J], JSON.stringify({ rules: 'rules:\n  - name: x\n    match: {pattern: "("}\n    priority: P1\n', message: 'x' }), 400, 'invalid_rules'],
    [rt, 'an empty payload', [R, J], '{"payload":{}}', 400, 'invalid_payload'],
    [rt, 'a payload of numbers', [R, J], '{"payload":[1]}', 400, 'invalid_payload'],
    [rt, 'a declared 10 MB body', [R, J, 'Content-Length: 10000000'], '', 413, 'payload_too_large'],
    ['/api/settings', 'an unknown key', [A, J], '{"bogus":1}', 400, 'invalid_settings'],
    ['/api/settings', 'a string for a boolean', [A, J], '{"enabled":"yes"}', 400, 'invalid_settings'],
    ['/api/settings', 'a huge number', [A, J], '{"maxActionsPerHour":1e300}', 400, 'invalid_settings'],
    ['/api/settings', 'a negative number', [A, J], '{"maxActionsPerHour":-1}', 400, 'invalid_settings'],
    ['/api/settings', 'an array', [A, J], '[]', 400, 'invalid_settings'],
    ['/api/settings', 'JSON null', [A, J], 'null', 400, 'invalid_settings'],
    ['/api/settings', 'an empty body', [A, J, 'Content-Length: 0'], '', 400, 'invalid_json'],
    ['/api/settings', 'a declared 10 MB body', [A, J, 'Content-Length: 10000000'], '', 413, 'payload_too_large'],
    ['/api/settings', 'truncated JSON', [A, J], '{', 400, 'invalid_json'],
    ['/api/settings', 'text/plain', [A, 'Content-Type: text/plain'], '{}', 415, 'unsupported_media_type'],
    ['/api/settings', 'a __proto__ key', [A, J], '{"__proto__":{"enabled":false}}', 400, 'invalid_settings'],
    ['/api/settings', 'the read token', [R, J], '{"enabled":false}', 401, 'unauthorized'],
  ];
  return cases.map(([path, what, head, body, status, code]) => ({ name: `POST ${path}: ${what}`, listener: 'main', kind: 'other', status, code, bytes: fixed(http('POST', path, head, body)) }));
}

function parserCases(): HostileCase[] {
  return (['main', 'admission'] as const).flatMap((listener) => {
    const post = listener === 'admission' ? '/webhooks/admission' : '/api/v2/alerts';
    return parserCasesFor(post).map(([what, bytes, status, code]): HostileCase => ({
      name: `${listener} parser: ${what}`, listener, kind: 'other', status, code, bytes: fixed(bytes) }));
  });
}

function parserCasesFor(post: string): Array<[string, string, number, string]> {
  return [
    ['a header name with a space', http('GET', '/healthz', ['Bad Header: x']), 400, 'bad_request'],
    ['Content-Length with Transfer-Encoding', http('POST', post, [I, J, 'Content-Length: 2', 'Transfer-Encoding: chunked'], '[]'), 400, 'bad_request'],
    ['two Content-Lengths', http('POST', post, [I, J, 'Content-Length: 2', 'Content-Length: 3'], '[]'), 400, 'bad_request'],
    ['a negative Content-Length', http('POST', post, [I, J, 'Content-Length: -1'], '[]'), 400, 'bad_request'],
    ['broken chunk framing', http('POST', post, [I, J, 'Transfer-Encoding: chunked'], 'zz\r\n[]\r\n0\r\n\r\n'), 400, 'bad_request'],
    ['a garbage request line', 'HELLO THERE\r\n\r\n', 400, 'bad_request'],
    ['a control character in a header', http('GET', '/healthz', ['X-A: a\u0001b']), 400, 'bad_request'],
    ['a 20 KiB URL', http('GET', `/api/errors?q=${'a'.repeat(20 * 1024)}`), 431, 'headers_too_large'],
    ['20 KiB of headers', http('GET', '/healthz', [`X-Big: ${'a'.repeat(20 * 1024)}`]), 431, 'headers_too_large'],
  ];
}

function wsCases(): HostileCase[] {
  const cases: Array<Pick<HostileCase, 'name' | 'status' | 'code' | 'bytes'>> = [
    { name: '/ws from an http:// page', status: 403, code: 'forbidden', bytes: (p) => wsHandshake(p.main, TOKENS.read, `http://127.0.0.1:${p.main}`) },
    { name: '/ws from another site', status: 403, code: 'forbidden', bytes: (p) => wsHandshake(p.main, TOKENS.read, 'https://evil.example') },
    { name: '/ws from a sandboxed frame (Origin: null)', status: 403, code: 'forbidden', bytes: (p) => wsHandshake(p.main, TOKENS.read, 'null') },
    { name: '/ws without a token', status: 401, code: 'unauthorized', bytes: (p) => wsHandshake(p.main, null) },
    { name: '/ws with the ingest token', status: 401, code: 'unauthorized', bytes: (p) => wsHandshake(p.main, TOKENS.ingest) },
    { name: '/ws with a wrong token', status: 401, code: 'unauthorized', bytes: (p) => wsHandshake(p.main, TOKENS.wrong) },
  ];
  return cases.map((c) => ({ ...c, listener: 'main' as const, kind: 'other' as const }));
}

/** The remediation and notification routes (DESIGN §6a, §6b). */
function loopCases(): HostileCase[] {
  const reads: Array<[string, number, string]> = [
    ['/api/remediations?state=bogus', 400, 'invalid_query'], ['/api/remediations?state=%00', 400, 'invalid_query'],
    ['/api/remediations?page=1e300', 400, 'invalid_query'], ['/api/remediations?page_size=0', 400, 'invalid_query'],
    ['/api/suspensions?active=maybe', 400, 'invalid_query'], ['/api/suspensions?active=%00', 400, 'invalid_query'],
    ['/api/notifications?state=bogus', 400, 'invalid_query'], ['/api/notifications?page=-1', 400, 'invalid_query'],
    ['/api/notifications?group_id=1e300', 400, 'invalid_query'], ['/api/notifications?receiver=x'.padEnd(100, 'x'), 400, 'invalid_query'],
    ['/api/notifications?page_size=99999999999999999999', 400, 'invalid_query'],
    ['/api/remediations/%zz/approve', 400, 'bad_request'],
  ];
  const writes: Array<[string, string, string[], string, number, string]> = [
    ['POST', '/api/remediations/1e300/approve', [A], '', 404, 'not_found'],
    ['POST', '/api/remediations/-1/reject', [A], '', 404, 'not_found'],
    ['POST', '/api/remediations/99999999999999999999/approve', [A], '', 404, 'not_found'],
    ['POST', '/api/remediations/1/approve', [A, 'Content-Type: text/plain'], 'yes', 415, 'unsupported_media_type'],
    ['POST', '/api/remediations/1/approve', [A, J], '{', 400, 'invalid_json'],
    ['POST', '/api/errors/1e300/remediate', [A], '', 404, 'not_found'],
    ['POST', '/api/errors/0x10/remediate', [A], '', 404, 'not_found'],
    ['POST', '/api/errors/1/remediate', [A, J, 'Content-Length: 10000000'], '', 413, 'payload_too_large'],
    ['DELETE', '/api/suspensions/1e300', [A], '', 404, 'not_found'],
    ['DELETE', '/api/suspensions/%00', [A], '', 404, 'not_found'],
    ['POST', '/api/remediations/1/approve', [R], '', 401, 'unauthorized'],
  ];
  return [
    ...reads.map(([path, status, code]): HostileCase => ({ name: `GET ${path}`, listener: 'main', kind: 'read', status, code, bytes: fixed(http('GET', path, [R])) })),
    ...writes.map(([m, path, head, body, status, code]): HostileCase => ({ name: `${m} ${path} ${head.slice(1).join(' ')}`, listener: 'main',
      kind: 'admin-write', status, code, bytes: fixed(http(m, path, head, body)) })),
  ];
}

export function hostileCorpus(): HostileCase[] {
  return [...queryCases(), ...pathCases(), ...methodCases(), ...authCases(), ...ingestBodyCases(), ...admissionCases(),
    ...expressBodyCases(), ...parserCases(), ...wsCases(), ...loopCases()];
}
