// Every route × token class × role: who gets in, and what everyone else gets (401/403/404 with the
// envelope). Driven over the real listeners, so the admission listener and /ws are covered too.
import assert from 'node:assert/strict';
import { http, rawRequest } from './raw-client.ts';
import { TOKENS, startStack, wsHandshake, type Stack } from './stack.ts';

type TokenClass = 'none' | 'wrong' | 'ingest' | 'read' | 'admin';
type Role = 'all' | 'dashboard';
const CLASSES: TokenClass[] = ['none', 'wrong', 'ingest', 'read', 'admin'];

interface Route {
  name: string;
  method: string;
  path: string;
  body?: string;
  listener?: 'main' | 'admission' | 'ws';
  /** Expected status (and error code for refusals) for a role and token class. */
  expect(role: Role, token: TokenClass): [number, string?];
}

const REVIEW = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'm-1', operation: 'CREATE', dryRun: true,
  object: { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e', namespace: 'x' }, reason: 'BackOff', type: 'Warning', message: 'm',
    involvedObject: { kind: 'Pod', name: 'p', namespace: 'x' } } } });

const readable = (token: TokenClass): [number, string?] => (token === 'read' || token === 'admin' ? [200] : [401, 'unauthorized']);
const ingest = (name: string, path: string, body: string): Route => ({
  name, method: 'POST', path, body,
  expect: (role, token) => (role === 'dashboard' ? [403, 'read_only_role'] : token === 'ingest' ? [200] : [401, 'unauthorized']),
});
const read = (method: string, path: string, body?: string): Route => ({ name: `${method} ${path}`, method, path, body, expect: (_r, t) => readable(t) });
const adminWrite = (method: string, path: string, forAdmin: [number, string?]): Route => ({
  name: `${method} ${path}`, method, path,
  expect: (role, token) => (token === 'none' || token === 'wrong' || token === 'ingest' ? [401, 'unauthorized']
    : role === 'dashboard' ? [403, 'read_only_role'] : token === 'admin' ? forAdmin : [401, 'unauthorized']),
});
const open = (path: string): Route => ({ name: `GET ${path}`, method: 'GET', path, expect: () => [200] });

const ROUTES: Route[] = [
  ingest('POST /api/v2/alerts', '/api/v2/alerts', '[]'),
  ingest('POST /api/v1/alerts', '/api/v1/alerts', '[]'),
  ingest('POST /webhooks/alertmanager', '/webhooks/alertmanager', '{"version":"4","status":"firing","alerts":[]}'),
  ingest('POST /webhooks/events', '/webhooks/events', '[]'),
  read('GET', '/api/errors'), read('GET', '/api/errors/1'), read('GET', '/api/stats'), read('GET', '/api/rules'),
  read('GET', '/api/history'), read('GET', '/api/settings'), read('POST', '/api/rules/test', '{"message":"OOMKilled"}'),
  read('GET', '/api/notifications'),
  {
    name: 'POST /api/settings', method: 'POST', path: '/api/settings', body: '{}',
    // The read check runs first for every /api route; then the role, then the admin token.
    expect: (role, token) => (token === 'none' || token === 'wrong' || token === 'ingest' ? [401, 'unauthorized']
      : role === 'dashboard' ? [403, 'read_only_role'] : token === 'admin' ? [200] : [401, 'unauthorized']),
  },
  read('GET', '/api/remediations'), read('GET', '/api/suspensions'), read('GET', '/api/notifications'),
  // Remediation writes (DESIGN §6a): read check, then role, then the admin token; the ids do not exist.
  adminWrite('POST', '/api/remediations/999/approve', [404, 'not_found']),
  adminWrite('POST', '/api/remediations/999/reject', [404, 'not_found']),
  adminWrite('POST', '/api/errors/999/remediate', [404, 'not_found']),
  adminWrite('DELETE', '/api/suspensions/999', [404, 'not_found']),
  open('/healthz'), open('/health'), open('/readyz'), open('/ready'), open('/metrics'),
  open('/'), open('/errors'), open('/errors/1'), open('/rules'), open('/history'), open('/settings'),
  { name: 'GET /ws (upgrade)', method: 'GET', path: '/ws', listener: 'ws', expect: (_r, t) => (t === 'read' || t === 'admin' ? [101] : [401, 'unauthorized']) },
  { name: 'POST /webhooks/admission on the main listener', method: 'POST', path: '/webhooks/admission', body: REVIEW, expect: () => [404, 'not_found'] },
  {
    name: 'POST /webhooks/admission on the admission listener', method: 'POST', path: '/webhooks/admission', body: REVIEW, listener: 'admission',
    // No bearer token exists for the API server: tokens neither help nor hurt.
    expect: (role) => (role === 'dashboard' ? [403, 'read_only_role'] : [200]),
  },
  { name: 'GET /api/errors on the admission listener', method: 'GET', path: '/api/errors', listener: 'admission', expect: () => [404, 'not_found'] },
];

describe('auth matrix: every route × token class × role', () => {
  for (const role of ['all', 'dashboard'] as const) {
    describe(`role ${role}`, () => {
      let s: Stack;
      before(async () => {
        s = await startStack({ config: { role } });
        if (role === 'all') {
          // Group 1 exists, so /api/errors/1 and /errors/1 have something to show.
          const r = await rawRequest(http('POST', '/api/v2/alerts', [`Authorization: Bearer ${TOKENS.ingest}`, 'Content-Type: application/json'],
            '[{"labels":{"alertname":"Known","namespace":"matrix"}}]'), { port: s.port });
          assert.equal(r.status, 200);
        }
      });
      after(() => s.close());

      for (const route of ROUTES) {
        it(route.name, async () => {
          const seen: string[] = [];
          const want: string[] = [];
          for (const token of CLASSES) {
            const value = token === 'none' ? null : TOKENS[token];
            let [status, code] = route.expect(role, token);
            // The dashboard has no group 1 (nothing is ingested there).
            if (role === 'dashboard' && route.path === '/api/errors/1' && status === 200) [status, code] = [404, 'not_found'];
            const bytes = route.listener === 'ws' ? wsHandshake(s.port, value)
              : http(route.method, route.path, [...(value ? [`Authorization: Bearer ${value}`] : []), ...(route.body ? ['Content-Type: application/json'] : [])], route.body ?? '');
            const r = await rawRequest(bytes, { port: route.listener === 'admission' ? s.admissionPort : s.port });
            seen.push(`${token}:${r.status}${r.status >= 400 ? `/${r.json?.error?.code}` : ''}`);
            want.push(`${token}:${status}${status >= 400 ? `/${code}` : ''}`);
          }
          assert.deepEqual(seen, want);
        });
      }
    });
  }
});
