// kill -9 mid-delivery: the built server posts a P1 to a signed webhook that never answers, a second
// P1 arrives, and the server is killed. After a restart on the same data both notifications arrive,
// each as exactly one delivery (one delivery id, one row): the one cut off is sent again under its own
// id, so a receiver that remembers ids processes it once; nothing is lost and nothing is planned twice.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtServerPresent, requireComponent, waitFor } from '../support/proc.ts';
import { READ_TOKEN, startServer, type ServerProc } from '../support/server-proc.ts';
import { startReceiver, type Receiver } from './receiver.ts';

describe('notifications: kill -9 mid-delivery', function () {
  this.timeout(90_000);
  let server: ServerProc | null = null;
  let hook: Receiver | null = null;

  before(function () {
    requireComponent(this, 'the built server (npm run build)', builtServerPresent());
  });
  after(async () => { await server?.stop('SIGKILL'); await hook?.close(); });

  const alert = (name: string) => [{
    labels: { alertname: name, namespace: 'shop', pod: 'web-7d4b9c-x2x9z', severity: 'critical' },
    annotations: { summary: 'Pod shop/web is in CrashLoopBackOff' }, startsAt: new Date().toISOString(),
  }];

  it('delivers every notification once after recovery', async () => {
    hook = await startReceiver(['hang']);
    const dir = mkdtempSync(join(tmpdir(), 'ks-crash-'));
    const secret = join(dir, 'hmac');
    writeFileSync(secret, 'crash-test-hmac-secret-0123456789\n');
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, 'rules:\n  - name: crash\n    match: {keywords: [crashloop]}\n    priority: P1\n');
    server = await startServer({ dir, config: {
      rules_file: rules,
      notifications: {
        receivers: [{ name: 'hook', webhook: { url: `${hook.url}/ks`, hmac_secret_file: secret, ca_file: hook.caFile, timeout: '20s' } }],
        routes: [{ match: { priorities: ['P1'] }, receivers: ['hook'] }],
        group_wait: '1s',
      },
    } });
    assert.equal((await server.client.post('/api/v2/alerts', alert('CrashFirst'))).status, 200);
    await waitFor('the first delivery to reach the hanging receiver', async () => hook!.received.length === 1, 15_000, 50);
    assert.equal((await server.client.post('/api/v2/alerts', alert('CrashSecond'))).status, 200);
    server.proc.child.kill('SIGKILL');
    await server.proc.exited;

    server = await server.restart();
    await waitFor('both notifications after the restart', async () => {
      const titles = new Set(hook!.received.flatMap((r) => (r.json as { groups: Array<{ title: string }> }).groups.map((g) => g.title)));
      return titles.has('CrashFirst') && titles.has('CrashSecond');
    }, 20_000, 100);
    await new Promise((r) => setTimeout(r, 1500)); // anything doubled would arrive by now

    const byId = new Map<string, string[]>();
    for (const r of hook.received) {
      const id = String(r.headers['x-kube-sentinel-delivery']);
      byId.set(id, [...(byId.get(id) ?? []), ...(r.json as { groups: Array<{ title: string }> }).groups.map((g) => g.title)]);
    }
    const notified = [...byId.values()].map((titles) => [...new Set(titles)].sort().join(','));
    assert.equal(notified.filter((t) => t.includes('CrashFirst')).length, 1, 'CrashFirst under one delivery id');
    assert.equal(notified.filter((t) => t.includes('CrashSecond')).length, 1, 'CrashSecond under one delivery id');
    assert.ok(hook.received.length <= 3, `at most the cut-off request is repeated (${hook.received.length} requests)`);

    const api = await server.client.get('/api/notifications', READ_TOKEN);
    assert.equal(api.status, 200);
    const rows = api.body.notifications as Array<{ state: string; groups: Array<{ title: string }> }>;
    assert.equal(rows.length, byId.size, 'one stored delivery per delivery id');
    assert.ok(rows.every((r) => r.state === 'sent'), JSON.stringify(rows));
  });
});
