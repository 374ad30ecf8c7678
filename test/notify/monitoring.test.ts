// Watching the watcher: the chart's PrometheusRule passes `promtool check rules`, every alert has a
// `promtool test rules` case (test/notify/fixtures/self-alerts.test.yaml), every metric the rules and
// the Grafana dashboard query is exported on /metrics, and the notifications values render into a
// config the server accepts with secrets mounted from the named Secrets.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { parse as parseYaml, stringify } from 'yaml';
import { configSchema } from '../../src/config/schema.ts';
import { findTool, parseManifests, REPO, requireTool, runTool, type Manifest, type Tool } from '../deploy/support.ts';
import { makeApp } from '../support/app.ts';

const CHART = join(REPO, 'helm/kube-sentinel');
const CI = Boolean(process.env.CI);

/** kube_sentinel_* names in PromQL, with histogram/summary suffixes folded onto their family. */
export function metricFamilies(exprs: string[]): Set<string> {
  const out = new Set<string>();
  for (const e of exprs) for (const m of e.matchAll(/\bkube_sentinel_[a-z0-9_]+/g)) out.add(m[0].replace(/_(bucket|sum|count)$/, ''));
  return out;
}

describe('notifications: chart monitoring (PrometheusRule, Grafana dashboard) and values', function () {
  this.timeout(60_000);
  let helm: Tool;
  let docs: Manifest[];
  const dir = mkdtempSync(join(tmpdir(), 'ks-monitoring-'));

  before(async function () {
    helm = requireTool(this, findTool('helm', ['/root/go/bin/helm', '/usr/local/bin/helm'], process.env.PATH), 'helm', CI);
    const values = join(dir, 'values.yaml');
    // Raw YAML with an unquoted `on:`, as people write it: Helm's YAML 1.1 reads that key as `true`.
    writeFileSync(values, `prometheusRule: {enabled: true}
grafanaDashboard: {enabled: true}
notifications:
  externalUrl: https://sentinel.example.com
  receivers:
    - name: oncall
      slack: {webhookUrlSecret: {name: slack, key: url}}
    - name: pager
      pagerduty: {routingKeySecret: {name: pd, key: routing-key}}
      timeout: 5s
    - name: am
      alertmanager: {url: "https://alertmanager.monitoring.svc:9093", bearerTokenSecret: {name: am, key: token}}
      caSecret: {name: am-ca, key: ca.crt}
    - name: hook
      webhook: {url: "https://hooks.example.com/ks", hmacSecret: {name: hook, key: secret}}
  routes:
    - receivers: [hook]
      on: [remediation]
    - match: {priorities: [P1]}
      receivers: [oncall, pager, am]
`);
    const r = await runTool(helm, ['template', 'ks', CHART, '--namespace', 'mon', '-f', values, '--set', 'networkPolicy.enabled=true']);
    assert.equal(r.code, 0, r.stderr);
    docs = parseManifests(r.stdout);
  });

  const rule = () => docs.find((d) => d.kind === 'PrometheusRule')!;
  const dashboard = () => JSON.parse(docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name.endsWith('grafana-dashboard'))!.data['kube-sentinel.json']);

  it('passes promtool check rules and every alert passes its promtool unit test', async function () {
    const promtool = requireTool(this, findTool('promtool', ['/usr/bin/promtool'], process.env.PATH), 'promtool (Debian package prometheus)', CI);
    writeFileSync(join(dir, 'rules.yaml'), stringify(rule().spec));
    const check = await runTool(promtool, ['check', 'rules', join(dir, 'rules.yaml')]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /SUCCESS: 6 rules found/);
    const tests = join(dir, 'self-alerts.test.yaml');
    copyFileSync(join(REPO, 'test/notify/fixtures/self-alerts.test.yaml'), tests);
    const unit = await runTool(promtool, ['test', 'rules', tests]);
    assert.equal(unit.code, 0, unit.stdout + unit.stderr);
    const tested = new Set((parseYaml(readFileSync(tests, 'utf8')) as { tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }> })
      .tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    const alerts = (rule().spec.groups as Array<{ rules: Array<{ alert: string }> }>).flatMap((g) => g.rules.map((x) => x.alert));
    assert.deepEqual(alerts.filter((a) => !tested.has(a)), [], 'every alert has a firing test case');
  });

  it('queries only metrics the server exports on /metrics', async () => {
    const exprs = [
      ...(rule().spec.groups as Array<{ rules: Array<{ expr: string }> }>).flatMap((g) => g.rules.map((x) => x.expr)),
      ...(dashboard().panels as Array<{ targets: Array<{ expr: string }> }>).flatMap((p) => p.targets.map((t) => t.expr)),
      ...(dashboard().templating.list as Array<{ definition?: string }>).map((v) => v.definition ?? ''),
    ];
    const wanted = metricFamilies(exprs);
    assert.ok(wanted.size >= 12, [...wanted].join(', '));
    const t = await makeApp();
    try {
      const text = (await request(t.app.handler).get('/metrics')).text;
      const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
      assert.deepEqual([...wanted].filter((m) => !exported.has(m)), [], 'queried but not exported');
    } finally {
      await t.close();
    }
  });

  it('labels the dashboard ConfigMap for Grafana\'s sidecar', () => {
    const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name.endsWith('grafana-dashboard'))!;
    assert.equal(cm.metadata.labels?.grafana_dashboard, '1');
    assert.equal(dashboard().uid, 'kube-sentinel');
  });

  it('renders notifications into a config the server accepts, secrets as files from the named Secrets', () => {
    const main = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'ks-kube-sentinel')!;
    const cm = docs.find((d) => d.kind === 'ConfigMap' && typeof d.data?.['config.yaml'] === 'string' && d.data['config.yaml'].includes('role: webhook'))!;
    const config = configSchema.parse(parseYaml(cm.data['config.yaml']));
    assert.equal(config.web.external_url, 'https://sentinel.example.com');
    const n = config.notifications;
    assert.deepEqual(n.receivers.map((r) => r.name), ['oncall', 'pager', 'am', 'hook']);
    assert.equal(n.receivers[0].slack?.webhook_url_file, '/etc/kube-sentinel-notify/oncall/slack-url');
    assert.equal(n.receivers[1].pagerduty?.timeout, 5000);
    assert.equal(n.receivers[2].alertmanager?.ca_file, '/etc/kube-sentinel-notify/am/ca.crt');
    assert.deepEqual(n.routes[0].on, ['remediation'], 'an unquoted on: survives Helm');
    const spec = main.spec.template.spec;
    const mount = spec.containers[0].volumeMounts.find((m: { name: string }) => m.name === 'notify');
    assert.deepEqual([mount.mountPath, mount.readOnly], ['/etc/kube-sentinel-notify', true]);
    const sources = spec.volumes.find((v: { name: string }) => v.name === 'notify').projected.sources as Array<{ secret: { name: string; items: Array<{ key: string; path: string }> } }>;
    const files = Object.fromEntries(sources.map((s) => [s.secret.items[0].path, `${s.secret.name}/${s.secret.items[0].key}`]));
    assert.deepEqual(files, {
      'oncall/slack-url': 'slack/url', 'pager/routing-key': 'pd/routing-key', 'am/bearer-token': 'am/token', 'am/ca.crt': 'am-ca/ca.crt', 'hook/hmac-secret': 'hook/secret',
    });
    assert.ok(!cm.data['config.yaml'].includes('secret:'), 'no secret values in the ConfigMap');
    const np = docs.find((d) => d.kind === 'NetworkPolicy' && d.metadata.name === 'ks-kube-sentinel-webhook')!;
    const egressPorts = (np.spec.egress as Array<{ ports: Array<{ port: number }> }>).flatMap((e) => e.ports.map((p) => p.port));
    assert.ok(egressPorts.includes(9093), 'the NetworkPolicy lets the webhook pods reach an Alertmanager');
  });
});
