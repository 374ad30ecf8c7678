// "Done when", end to end on the built server: a P1 posted to /api/v2/alerts reaches Slack, PagerDuty,
// a signed webhook (local HTTPS receivers) and a real Alertmanager within group_wait + 1 s, and
// resolves in each of them when the alert resolves.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { builtServerPresent, freePort, requireComponent, start, waitFor, which, type Proc } from '../support/proc.ts';
import { READ_TOKEN, startServer, type ServerProc } from '../support/server-proc.ts';
import { startReceiver, type Receiver } from './receiver.ts';

const GROUP_WAIT_MS = 2000;
const HMAC = 'e2e-hmac-secret-0123456789abcdef';

describe('notifications e2e: built server → Slack, PagerDuty, webhook and a real Alertmanager', function () {
  this.timeout(90_000);
  let server: ServerProc | null = null;
  let am: Proc | null = null;
  let amUrl = '';
  let slack: Receiver; let pd: Receiver; let hook: Receiver;

  before(async function () {
    requireComponent(this, 'the built server (npm run build)', builtServerPresent());
    requireComponent(this, 'prometheus-alertmanager (Debian package)', which('prometheus-alertmanager') !== null);
    const dir = mkdtempSync(join(tmpdir(), 'ks-notify-e2e-'));
    const amPort = await freePort();
    writeFileSync(join(dir, 'am.yml'), stringify({ route: { receiver: 'null' }, receivers: [{ name: 'null' }] }));
    am = start('prometheus-alertmanager', [`--config.file=${join(dir, 'am.yml')}`, `--storage.path=${join(dir, 'am-data')}`,
      `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address=']);
    amUrl = `http://127.0.0.1:${amPort}`;
    await waitFor('alertmanager ready', async () => (await fetch(`${amUrl}/-/ready`)).ok, 20_000, 100);
    [slack, pd, hook] = await Promise.all([startReceiver(), startReceiver(), startReceiver()]);
    const file = (name: string, value: string) => { writeFileSync(join(dir, name), `${value}\n`); return join(dir, name); };
    writeFileSync(join(dir, 'rules.yaml'), 'rules:\n  - name: crashloop\n    match: {keywords: [crashloop]}\n    priority: P1\n');
    const port = await freePort();
    server = await startServer({ dir, port, config: {
      rules_file: join(dir, 'rules.yaml'),
      web: { listen: `127.0.0.1:${port}`, external_url: 'https://sentinel.example.com' },
      notifications: {
        receivers: [
          { name: 'slack', slack: { webhook_url_file: file('slack-url', `${slack.url}/services/T0/B0/X`), ca_file: slack.caFile } },
          { name: 'pd', pagerduty: { routing_key_file: file('pd-key', 'ROUTINGKEY0123456789abcdef012345'), url: `${pd.url}/v2/enqueue`, ca_file: pd.caFile } },
          { name: 'hook', webhook: { url: `${hook.url}/ks`, hmac_secret_file: file('hmac', HMAC), ca_file: hook.caFile } },
          { name: 'am', alertmanager: { url: amUrl } },
        ],
        routes: [{ match: { priorities: ['P1'] }, receivers: ['slack', 'pd', 'hook', 'am'] }],
        group_wait: `${GROUP_WAIT_MS / 1000}s`,
      },
    } });
  });
  after(async () => {
    await server?.stop('SIGTERM');
    await am?.kill();
    await Promise.all([slack, pd, hook].map((r) => r?.close()));
  });

  const amAlerts = async () => (await (await fetch(`${amUrl}/api/v2/alerts?filter=source%3D%22kube-sentinel%22`)).json()) as Array<{ labels: Record<string, string> }>;

  it('a P1 arrives everywhere within group_wait + 1 s and resolves everywhere', async () => {
    const startsAt = new Date().toISOString();
    const alert = { labels: { alertname: 'ShopCrashLoop', namespace: 'shop', pod: 'web-7d4b9c-x2x9z', severity: 'critical' }, annotations: { summary: 'web is in crashloop' }, startsAt };
    const sent = Date.now();
    assert.equal((await server!.client.post('/api/v2/alerts', [alert])).status, 200);
    const arrived = await waitFor('all four receivers', async () => {
      const inAm = (await amAlerts()).length > 0;
      return slack.received.length > 0 && pd.received.length > 0 && hook.received.length > 0 && inAm ? Date.now() : null;
    }, 15_000, 25);
    const latency = arrived - sent;
    if (process.env.KS_NOTIFY_TIMING) process.stderr.write(`    ingest → all four receivers: ${latency} ms (group_wait ${GROUP_WAIT_MS} ms)\n`);
    assert.ok(latency <= GROUP_WAIT_MS + 1000, `delivered in ${latency} ms (group_wait ${GROUP_WAIT_MS} ms)`);
    assert.equal((pd.received[0].json as { event_action: string }).event_action, 'trigger');
    const h = hook.received[0];
    const ts = String(h.headers['x-kube-sentinel-timestamp']);
    assert.equal(h.headers['x-kube-sentinel-signature'], `sha256=${createHmac('sha256', HMAC).update(`${ts}.${h.body}`).digest('hex')}`);
    assert.match((slack.received[0].json as { text: string }).text, /ShopCrashLoop/);
    const [a] = await amAlerts();
    assert.deepEqual([a.labels.alertname, a.labels.priority, a.labels.rule, a.labels.namespace], ['ShopCrashLoop', 'P1', 'crashloop', 'shop']);

    assert.equal((await server!.client.post('/api/v2/alerts', [{ ...alert, endsAt: new Date().toISOString() }])).status, 200);
    await waitFor('the resolution everywhere', async () =>
      slack.received.length === 2 && pd.received.length === 2 && hook.received.length === 2 && (await amAlerts()).length === 0, 15_000, 50);
    assert.equal((pd.received[1].json as { event_action: string; dedup_key: string }).event_action, 'resolve');
    assert.equal((pd.received[1].json as { dedup_key: string }).dedup_key, (pd.received[0].json as { dedup_key: string }).dedup_key);
    assert.equal((hook.received[1].json as { kind: string }).kind, 'resolved');
    const api = await server!.client.get('/api/notifications?state=sent', READ_TOKEN);
    assert.equal(api.body.total, 8, 'four receivers × (firing, resolved), each sent once');
  });
});
