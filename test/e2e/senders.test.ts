// End to end with real senders: Prometheus pushes straight to /api/v2/alerts (as Loki's ruler does)
// and to a real Alertmanager, whose webhook posts to /webhooks/alertmanager. Both over TLS with the
// test CA and a bearer token. The alert fires in a time window, then resolves.
// Two generations: Debian's Prometheus 2.42 and Alertmanager 0.25, and today's Prometheus 3 and
// Alertmanager 0.28.1 built from the Go module proxy by test/e2e/build-senders.sh (cached under
// ~/.cache/kube-sentinel). Today's pair also sends a rule whose labels have UTF-8 names.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { builtServerPresent, freePort, requireComponent, start, waitFor, which, type Proc } from '../support/proc.ts';
import { INGEST_TOKEN, READ_TOKEN, startServer, type ServerProc } from '../support/server-proc.ts';

interface Senders {
  name: string;
  prometheus: { bin: string | null; what: string };
  alertmanager: { bin: string | null; what: string };
  /** Prometheus 3 / Alertmanager 0.28: UTF-8 label names on the alerting rule. */
  utf8: boolean;
}

const CACHE = process.env.KS_CACHE ?? join(homedir(), '.cache', 'kube-sentinel');
const cached = (path: string) => (existsSync(join(CACHE, path)) ? join(CACHE, path) : null);

const GENERATIONS: Senders[] = [
  {
    name: "Debian's Prometheus 2.42 and Alertmanager 0.25", utf8: false,
    prometheus: { bin: which('prometheus') && 'prometheus', what: 'prometheus (Debian package prometheus)' },
    alertmanager: { bin: which('prometheus-alertmanager') && 'prometheus-alertmanager', what: 'prometheus-alertmanager (Debian package)' },
  },
  {
    name: 'Prometheus 3.16 (module v0.316.0) and Alertmanager 0.28.1', utf8: true,
    prometheus: { bin: cached('prometheus-v0.316.0/prometheus'), what: 'Prometheus v0.316.0 (run test/e2e/build-senders.sh)' },
    alertmanager: { bin: cached('alertmanager-v0.28.1/alertmanager'), what: 'Alertmanager v0.28.1 (run test/e2e/build-senders.sh)' },
  },
];

/** UTF-8 label names as Prometheus 3 and OpenTelemetry produce them. */
const UTF8_LABELS = { 'service.name': 'checkout', 'k8s.pod.name': 'demo-7d9f8b6c5-x2k4q', 'région': 'île-de-france' };

for (const senders of GENERATIONS) describe(`e2e: real senders — ${senders.name}`, function () {
  this.timeout(120_000);
  let server: ServerProc;
  let prometheus: Proc | null = null;
  let alertmanager: Proc | null = null;
  const windowSeconds = 12;

  before(async function () {
    requireComponent(this, senders.prometheus.what, senders.prometheus.bin !== null);
    requireComponent(this, senders.alertmanager.what, senders.alertmanager.bin !== null);
    requireComponent(this, 'the built server (npm run build)', builtServerPresent());
    server = await startServer();
    const dir = mkdtempSync(join(tmpdir(), 'ks-senders-'));
    const amPort = await freePort();
    const promPort = await freePort();
    const tls = { ca_file: server.caFile };

    writeFileSync(join(dir, 'am.yml'), stringify({
      route: { receiver: 'kube-sentinel', group_by: ['alertname'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
      receivers: [{ name: 'kube-sentinel', webhook_configs: [{
        url: `${server.url}/webhooks/alertmanager`, send_resolved: true,
        http_config: { authorization: { credentials: INGEST_TOKEN }, tls_config: tls },
      }] }],
    }));
    alertmanager = start(senders.alertmanager.bin!, [
      `--config.file=${join(dir, 'am.yml')}`, `--storage.path=${join(dir, 'am-data')}`,
      `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address=',
    ]);

    // Fires from now for `windowSeconds`, then resolves by itself (no sleeping on guesses).
    const from = Math.floor(Date.now() / 1000);
    const until = from + windowSeconds;
    writeFileSync(join(dir, 'rules.yml'), stringify({ groups: [{ name: 'e2e', interval: '1s', rules: [{
      alert: 'KubePodCrashLooping',
      expr: `vector(1) and on () (vector(time()) >= ${from}) and on () (vector(time()) < ${until})`,
      labels: { severity: 'critical', namespace: 'default', pod: 'demo-7d9f8b6c5-x2k4q', container: 'app', ...(senders.utf8 ? UTF8_LABELS : {}) },
      annotations: {
        summary: 'Pod default/demo-7d9f8b6c5-x2k4q (container app) is in CrashLoopBackOff',
        description: 'back-off 5m0s restarting failed container=app pod=demo-7d9f8b6c5-x2k4q_default',
      },
    }] }] }));
    writeFileSync(join(dir, 'prometheus.yml'), stringify({
      // Prometheus 3 validates names by this scheme (rule labels included); 2.x does not know the key.
      global: { evaluation_interval: '1s', scrape_interval: '1m', ...(senders.utf8 ? { metric_name_validation_scheme: 'utf8' } : {}) },
      rule_files: [join(dir, 'rules.yml')],
      alerting: { alertmanagers: [
        // Loki-ruler style: straight to Kube Sentinel's Alertmanager-compatible API.
        { scheme: 'https', api_version: 'v2', authorization: { credentials: INGEST_TOKEN }, tls_config: tls,
          static_configs: [{ targets: [`127.0.0.1:${server.port}`] }] },
        { scheme: 'http', api_version: 'v2', static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] },
      ] },
    }));
    prometheus = start(senders.prometheus.bin!, [
      `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'prom-data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`, '--rules.alert.resend-delay=1s',
    ]);
  });

  after(async () => {
    await prometheus?.kill();
    await alertmanager?.kill();
    await server?.stop();
  });

  const groups = async (query: string) => (await server.client.get(`/api/errors?${query}`, READ_TOKEN)).body;
  const metric = async (channel: string) => {
    const text = (await server.client.get('/metrics')).text;
    const re = new RegExp(`kube_sentinel_ingest_signals_total\\{channel="${channel}",outcome="[^"]+"\\} (\\d+)`, 'g');
    return [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
  };

  it('records the firing alert once, from both senders, with the rule priority', async () => {
    // Prometheus discards alerts until it has discovered its alertmanagers: wait for arrival instead.
    const firing = await waitFor('the firing alert', async () => {
      const body = await groups('status=firing');
      return body.total >= 1 ? body : null;
    }, 45_000, 250);
    await waitFor('deliveries through both senders', async () => (await metric('alerts-v2')) > 0 && (await metric('alertmanager')) > 0, 30_000, 250);
    const body = await groups('');
    assert.equal(body.total, 1, `one group for one alert, got ${JSON.stringify(body.errors.map((g: { title: string }) => g.title))}`);
    const g = firing.errors[0];
    assert.equal(g.title, 'KubePodCrashLooping');
    assert.equal(g.priority, 'P1');
    assert.equal(g.rule, 'crashloop-backoff');
    assert.equal(g.namespace, 'default');
    assert.equal(g.source, 'alert');
    assert.match(g.alertFingerprint, /^[0-9a-f]{16}$/);
    // Prometheus re-sends every second (--rules.alert.resend-delay=1s): many deliveries, one occurrence.
    await waitFor('several re-deliveries', async () => (await metric('alerts-v2')) + (await metric('alertmanager')) >= 4, 20_000, 250);
    const again = await groups('');
    assert.equal(again.errors[0].count, 1);
    if (senders.utf8) {
      // Delivered by both senders with every UTF-8 label name intact (a 400 would have lost the alert).
      for (const [name, value] of Object.entries(UTF8_LABELS)) assert.equal(again.errors[0].labels[name], value, name);
    }
  });

  it('turns resolved when the senders report it, without inflating the count', async () => {
    const resolved = await waitFor('the resolved alert', async () => {
      const body = await groups('status=resolved');
      return body.total === 1 ? body : null;
    }, (windowSeconds + 40) * 1000, 500);
    const g = resolved.errors[0];
    assert.equal(g.status, 'resolved');
    assert.equal(g.count, 1);
    assert.ok(g.resolvedAt, 'resolvedAt is set');
    const detail = await server.client.get(`/api/errors/${g.id}`, READ_TOKEN);
    assert.equal(detail.status, 200);
    assert.equal(detail.body.why.matched, 'crashloop-backoff');
  });
});
