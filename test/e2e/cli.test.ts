// The binary as users meet it: zero-config serve, config errors, `rules test`, the SQLite lock.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestClient } from '../support/client.ts';
import { BUILT_MAIN, ROOT, builtServerPresent, freePort, requireComponent, start, waitFor } from '../support/proc.ts';
import { startServer } from '../support/server-proc.ts';

const run = (args: string[], opts: { cwd?: string; input?: string; env?: Record<string, string> } = {}) =>
  spawnSync(process.execPath, [BUILT_MAIN, ...args], { cwd: opts.cwd ?? ROOT, input: opts.input, encoding: 'utf8', env: { ...process.env, ...opts.env }, timeout: 20_000 });

describe('e2e: the kube-sentinel command', function () {
  this.timeout(60_000);
  before(function () { requireComponent(this, 'the built server (npm run build)', builtServerPresent()); });

  it('zero-config serve: self-signed TLS, generated ingest token, SQLite under ./data, ingest works', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'ks-zero-'));
    const port = await freePort();
    const proc = start(process.execPath, [BUILT_MAIN, 'serve'], { cwd, env: { KS_LISTEN: `127.0.0.1:${port}`, KS_SHUTDOWN_DELAY: '0s' } });
    try {
      await waitFor('zero-config server output', async () => proc.output().includes('zero-config mode'), 20_000);
      const token = readFileSync(join(cwd, 'data/ingest-token'), 'utf8').trim();
      assert.ok(token.length >= 16);
      const ca = readFileSync(join(cwd, 'data/tls/ca.crt'), 'utf8');
      const client = new TestClient({ base: `https://127.0.0.1:${port}`, ca, token });
      await waitFor('ready', async () => (await client.get('/readyz')).status === 200);
      assert.equal((await client.post('/api/v2/alerts', [{ labels: { alertname: 'ZeroConfig' } }], 'wrong-token-0123456789')).status, 401);
      const ok = await client.post('/api/v2/alerts', [{ labels: { alertname: 'ZeroConfig', namespace: 'dev' }, annotations: { summary: 'OOMKilled' } }]);
      assert.equal(ok.status, 200);
      const list = await client.get('/api/errors');
      assert.equal(list.body.errors[0].title, 'ZeroConfig');
      const settings = await client.get('/api/settings');
      assert.equal(settings.body.dryRun, true, 'zero-config remediation is dry-run');
      // No cluster, no admission: an anonymous AdmissionReview has no route to reach.
      const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u1', operation: 'CREATE',
        object: { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e', namespace: 'dev' }, reason: 'BackOff', type: 'Warning',
          message: 'Back-off restarting failed container', involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'dev' } } } };
      assert.equal((await client.post('/webhooks/admission', review, '')).status, 404);
      assert.equal((await client.get('/api/errors')).body.total, 1, 'the review recorded nothing');
      assert.ok(existsSync(join(cwd, 'data/kube-sentinel.db')));
      await client.close();
    } finally {
      proc.child.kill('SIGTERM');
      assert.equal(await proc.exited, 0, `clean exit on SIGTERM\n${proc.output()}`);
    }
  });

  it('exits 2 with a message naming the bad key, file and problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-badcfg-'));
    writeFileSync(join(dir, 'c.yaml'), 'web:\n  listne: 1.2.3.4:8443\nstore:\n  retention: forever\n');
    const r = run(['serve', '--config', join(dir, 'c.yaml')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /c\.yaml/);
    assert.match(r.stderr, /web\.listne: unknown key/);
    assert.match(r.stderr, /store\.retention: not a duration/);
  });

  it('exits 2 naming the rule and field of an invalid rules file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-badrules-'));
    writeFileSync(join(dir, 'rules.yaml'), 'rules:\n  - name: broken\n    match: {pattern: "(unclosed"}\n    priority: P1\n');
    const r = run(['rules', 'test', '--rules', join(dir, 'rules.yaml')], { input: '[]' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /broken/);
    assert.match(r.stderr, /match\.pattern/);
  });

  it('rules test with an unusable payload prints one line naming the problem and exits 2', () => {
    for (const input of ['{}', '[1]', 'not json']) {
      const r = run(['rules', 'test'], { input });
      assert.equal(r.status, 2, `${input}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line for ${input}, got:\n${r.stderr}`);
      assert.match(lines[0], /^kube-sentinel: stdin/);
      assert.doesNotMatch(r.stderr, /\bat .*\.(js|ts):\d+/, 'no stack trace');
    }
  });

  it('rules test classifies a captured Alertmanager payload from stdin', () => {
    const payload = readFileSync(join(ROOT, 'test/fixtures/alertmanager-webhook.json'), 'utf8');
    const r = run(['rules', 'test'], { input: payload });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.results.length, 1);
    assert.equal(out.results[0].priority, 'P1');
    assert.equal(out.results[0].rule, 'crashloop-backoff');
    assert.equal(out.results[0].why.matched, 'crashloop-backoff');
  });

  it('a second process on the same SQLite file fails with a clear error', async () => {
    const first = await startServer();
    try {
      const r = run(['serve', '--config', first.configFile], { env: { KS_LISTEN: `127.0.0.1:${await freePort()}` } });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /lock|in use|held/i);
      assert.match(r.stderr, /process \d+/);
    } finally {
      await first.stop();
    }
  });
});
