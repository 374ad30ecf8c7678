// Against a real Alertmanager (Debian's 0.25, and 0.28.1 when test/e2e/build-senders.sh has built it):
// the notifier loop posts a P1 group to /api/v2/alerts; it must appear in Alertmanager's own
// GET /api/v2/alerts with our labels within group_wait + 1 s, and leave the active list when it resolves.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { notificationsSchema } from '../../src/config/notifications.ts';
import { createNotifications, type Notifications } from '../../src/notify/index.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import { makeItem } from '../store/factory.ts';
import { freePort, requireComponent, ROOT, start, waitFor, which, type Proc } from '../support/proc.ts';

interface AmAlert { labels: Record<string, string>; annotations: Record<string, string>; status: { state: string }; endsAt: string }

const debian = which('prometheus-alertmanager');
const built = join(process.env.KS_CACHE ?? join(homedir(), '.cache', 'kube-sentinel'), 'alertmanager-v0.28.1', 'alertmanager');
/** 0.28.1 becomes mandatory in CI once .ci/run builds it. */
const builtInCi = (() => {
  try { return readFileSync(join(ROOT, '.ci/run'), 'utf8').includes('build-senders.sh'); } catch { return false; }
})();

const versions: Array<{ name: string; bin: string | null; required: boolean }> = [
  { name: 'Alertmanager 0.25 (Debian package prometheus-alertmanager)', bin: debian, required: true },
  { name: 'Alertmanager 0.28.1 (test/e2e/build-senders.sh)', bin: existsSync(built) ? built : null, required: builtInCi },
];

for (const v of versions) {
  describe(`notifications: real ${v.name}`, function () {
    this.timeout(60_000);
    let am: Proc | null = null;
    let amUrl = '';
    let n: Notifications | null = null;
    let store: SqliteStore | null = null;

    before(async function () {
      if (!v.bin && !v.required) {
        console.warn(`\n  !!! SKIPPING: ${v.name} is not built here\n`);
        this.skip();
      }
      requireComponent(this, v.name, v.bin !== null);
      const dir = mkdtempSync(join(tmpdir(), 'ks-am-'));
      const port = await freePort();
      writeFileSync(join(dir, 'am.yml'), stringify({ route: { receiver: 'null' }, receivers: [{ name: 'null' }] }));
      am = start(v.bin!, [`--config.file=${join(dir, 'am.yml')}`, `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=']);
      amUrl = `http://127.0.0.1:${port}`;
      await waitFor('alertmanager ready', async () => (await fetch(`${amUrl}/-/ready`)).ok, 20_000, 100);
      store = new SqliteStore({ path: ':memory:', maxOccurrences: 5 });
      await store.migrate();
      const config = notificationsSchema.parse({
        receivers: [{ name: 'am', alertmanager: { url: amUrl } }],
        routes: [{ match: { priorities: ['P1'] }, receivers: ['am'] }],
        group_wait: '1s',
      });
      n = await createNotifications({ config, externalUrl: 'https://sentinel.example', store, leader: { identity: 'l', isLeader: () => true }, pollMs: 200 });
      n!.start();
    });
    after(async () => {
      await n?.stop();
      await store?.close();
      await am?.kill();
    });

    const alerts = async (): Promise<AmAlert[]> => (await (await fetch(`${amUrl}/api/v2/alerts?filter=source%3D%22kube-sentinel%22`)).json()) as AmAlert[];

    it('a P1 group appears with alertname, priority, namespace, workload, rule, source and its own labels, then resolves', async () => {
      const t = Date.now();
      const item = makeItem({
        fingerprint: 'fp-am', receivedAt: t, expiresAt: t + 600_000,
        signal: { occurrenceKey: 'am-1', state: 'firing', endsAt: null, labels: { alertname: 'KubePodCrashLooping', namespace: 'shop', pod: 'web-1', severity: 'critical', 'service.name': 'web' } },
      });
      await store!.record([item]);
      n!.wake();
      const [alert] = await waitFor('the alert in Alertmanager', async () => { const a = await alerts(); return a.length > 0 ? a : null; }, 10_000, 50);
      const latency = Date.now() - t;
      assert.ok(latency <= 1000 + 1000, `visible within group_wait + 1 s (took ${latency} ms)`);
      assert.equal(alert.status.state, 'active');
      const { alertname, priority, namespace, workload, rule, source, severity, service_name } = alert.labels;
      assert.deepEqual({ alertname, priority, namespace, workload, rule, source, severity, service_name }, {
        alertname: 'KubePodCrashLooping', priority: 'P1', namespace: 'shop', workload: 'Deployment/web', rule: 'crashloop-backoff',
        source: 'kube-sentinel', severity: 'critical', service_name: 'web',
      });
      assert.match(alert.annotations.kube_sentinel_url, /^https:\/\/sentinel\.example\/errors\/\d+$/);
      assert.ok(Date.parse(alert.endsAt) > Date.now() + 3_600_000, 'a firing alert stays valid past the repeat_interval');

      await store!.record([{ ...item, receivedAt: Date.now(), signal: { ...item.signal, state: 'resolved', endsAt: Date.now() } }]);
      n!.wake();
      await waitFor('the alert to resolve in Alertmanager', async () => (await alerts()).length === 0, 10_000, 50);
      const { deliveries } = await store!.listDeliveries({ page: 1, pageSize: 10 });
      assert.deepEqual(deliveries.map((d) => [d.kind, d.state]), [['resolved', 'sent'], ['firing', 'sent']]);
    });
  });
}
