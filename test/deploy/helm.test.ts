import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import {
  REPO, all, assertAdmissionWebhook, assertDashboardHasNoRbac, assertNoDuplicates, assertProbes, assertRbac,
  assertRestricted, assertRulesLoad, etcFiles, findTool, hasWorkload, loadPodConfig, mainContainer, maybe, one,
  parseManifests, requireTool, runTool, workload, type Manifest, type Tool,
} from './support.ts';

const CHART = join(REPO, 'helm/kube-sentinel');
const NS = 'kube-sentinel';
const RELEASE = 'ks';
const FULL = 'ks-kube-sentinel';

describe('deploy: Helm chart', function () {
  this.timeout(60_000);
  let helm: Tool;
  let scratch: string;
  const cache = new Map<string, Promise<Manifest[]>>();

  before(function () {
    helm = requireTool(this, findTool('helm', ['/root/go/bin/helm', '/usr/local/bin/helm'], process.env.PATH), 'helm', Boolean(process.env.CI));
    scratch = mkdtempSync(join(tmpdir(), 'ks-helm-'));
  });
  after(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  let fileCount = 0;
  /** Values given as a YAML file: exact types, and PEM blocks or lists without --set escaping. */
  function valuesFile(values: object): string[] {
    const file = join(scratch, `values-${fileCount++}.yaml`);
    writeFileSync(file, stringify(values));
    return ['-f', file];
  }

  async function render(args: string[] = [], release = RELEASE, chart = CHART): Promise<Manifest[]> {
    const r = await runTool(helm, ['template', release, chart, '--namespace', NS, ...args]);
    assert.equal(r.code, 0, `helm template ${args.join(' ')} failed:\n${r.stderr}`);
    return parseManifests(r.stdout);
  }

  function rendered(values: object = {}): Promise<Manifest[]> {
    const key = JSON.stringify(values);
    if (!cache.has(key)) cache.set(key, render(valuesFile(values)));
    return cache.get(key)!;
  }

  async function rejected(args: string[]): Promise<string> {
    const r = await runTool(helm, ['template', RELEASE, CHART, '--namespace', NS, ...args]);
    assert.notEqual(r.code, 0, `helm template ${args.join(' ')} should have failed`);
    return r.stderr;
  }

  it('passes helm lint (strict)', async () => {
    const r = await runTool(helm, ['lint', '--strict', CHART]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  const scenarios: Array<[string, object]> = [
    ['defaults', {}],
    ['tls.existingSecret', { tls: { existingSecret: 'my-tls' } }],
    ['tls.certManager', { tls: { certManager: { enabled: true } } }],
    ['external database', { postgresql: { external: { existingSecret: 'pg', key: 'url' } } }],
    ['single replica on SQLite', { webhook: { replicas: 1 } }],
    ['role all on PostgreSQL', { role: 'all' }],
    ['every option on', { networkPolicy: { enabled: true }, serviceMonitor: { enabled: true }, dashboard: { ingress: { enabled: true }, replicas: 2 }, tls: { clientCA: { existingSecret: 'apiserver-ca' } } }],
  ];
  for (const [name, values] of scenarios) {
    it(`renders a coherent release: ${name}`, async () => {
      const docs = await rendered(values);
      assertNoDuplicates(docs);
      assertRbac(docs, NS);
      assertRestricted(docs);
      assertAdmissionWebhook(docs, NS, FULL);
      const main = workload(docs, 'webhook');
      assertProbes(main);
      const config = loadPodConfig(docs, main);
      assertRulesLoad(docs, main);
      assert.equal(config.leader_election.enabled, true);
      assert.equal(config.leader_election.namespace, NS);
      assert.equal(config.web.admission_listen, '0.0.0.0:9443', 'admission on its own listener');
      assert.ok(config.remediation.excluded_namespaces.includes(NS), 'never remediate itself');
      assert.equal(main.spec.template.spec.automountServiceAccountToken, true);
      for (const d of docs) if (d.metadata.namespace !== undefined) assert.equal(d.metadata.namespace, NS, `${d.kind} ${d.metadata.name}`);
      if (hasWorkload(docs, 'dashboard')) {
        const dashboard = workload(docs, 'dashboard');
        assertProbes(dashboard);
        assertDashboardHasNoRbac(docs);
        const dc = loadPodConfig(docs, dashboard);
        assert.equal(dc.role, 'dashboard');
        assert.equal(dc.web.admission_listen, undefined, 'the dashboard opens no admission listener');
        assert.equal(dc.remediation.enabled, false);
        assert.deepEqual([...etcFiles(docs, dashboard).keys()].filter((f) => f.includes('/tokens/')), ['/etc/kube-sentinel/tokens/read-tokens'], 'only read tokens reach the dashboard');
      }
    });
  }

  describe('high availability (defaults)', () => {
    it('runs 3 webhook replicas spread over nodes and zones, with a PDB keeping 2', async () => {
      const docs = await rendered();
      const main = workload(docs, 'webhook');
      assert.equal(main.spec.replicas, 3);
      assert.equal(loadPodConfig(docs, main).role, 'webhook');
      const spread = main.spec.template.spec.topologySpreadConstraints;
      const byKey = Object.fromEntries(spread.map((s: { topologyKey: string; whenUnsatisfiable: string }) => [s.topologyKey, s.whenUnsatisfiable]));
      assert.deepEqual(byKey, { 'kubernetes.io/hostname': 'DoNotSchedule', 'topology.kubernetes.io/zone': 'ScheduleAnyway' });
      const pdb = one(docs, 'PodDisruptionBudget', FULL);
      assert.equal(pdb.spec.minAvailable, 2);
      assert.deepEqual(pdb.spec.selector.matchLabels, main.spec.selector.matchLabels);
      assert.equal(main.spec.strategy.rollingUpdate.maxUnavailable, 0);
    });

    it('bundles PostgreSQL and hands its URL to every pod through a Secret', async () => {
      const docs = await rendered();
      const sts = one(docs, 'StatefulSet');
      assert.equal(sts.spec.replicas, 1);
      assert.equal(sts.spec.template.spec.automountServiceAccountToken, false);
      const secret = one(docs, 'Secret', `${FULL}-postgresql`);
      const url = Buffer.from(secret.data.DATABASE_URL, 'base64').toString();
      const password = Buffer.from(secret.data['postgres-password'], 'base64').toString();
      assert.ok(password.length >= 24);
      assert.equal(url, `postgres://kube_sentinel:${password}@${FULL}-postgresql.${NS}.svc:5432/kube_sentinel?sslmode=disable`);
      for (const component of ['webhook', 'dashboard']) {
        const env = mainContainer(workload(docs, component)).env.find((e: { name: string }) => e.name === 'DATABASE_URL');
        assert.deepEqual(env.valueFrom.secretKeyRef, { name: `${FULL}-postgresql`, key: 'DATABASE_URL' });
      }
    });

    it('uses an external database instead, and a read replica for the dashboard when given', async () => {
      const docs = await rendered({ postgresql: { external: { existingSecret: 'pg', key: 'url' } }, dashboard: { database: { existingSecret: 'pg-ro', key: 'url' } } });
      assert.equal(all(docs, 'StatefulSet').length, 0);
      const ref = (c: string) => mainContainer(workload(docs, c)).env.find((e: { name: string }) => e.name === 'DATABASE_URL').valueFrom.secretKeyRef;
      assert.deepEqual(ref('webhook'), { name: 'pg', key: 'url' });
      assert.deepEqual(ref('dashboard'), { name: 'pg-ro', key: 'url' });
    });
  });

  describe('single replica', () => {
    it('uses SQLite on a PVC, role all, no PDB, no PostgreSQL and no separate dashboard', async () => {
      const docs = await rendered({ webhook: { replicas: 1 } });
      const main = workload(docs, 'webhook');
      assert.equal(main.spec.replicas, 1);
      const config = loadPodConfig(docs, main);
      assert.equal(config.store.type, 'sqlite');
      assert.equal(config.role, 'all', 'one process owns the SQLite file, so it serves the dashboard too');
      assert.equal(all(docs, 'PodDisruptionBudget').length, 0, 'a PDB on one replica would block every drain');
      assert.equal(all(docs, 'StatefulSet').length, 0);
      assert.equal(hasWorkload(docs, 'dashboard'), false);
      const data = main.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'data');
      assert.ok(maybe(docs, 'PersistentVolumeClaim', data.persistentVolumeClaim?.claimName), 'data volume is the rendered PVC');
      const dashboardSvc = one(docs, 'Service', `${FULL}-dashboard`);
      assert.deepEqual(dashboardSvc.spec.selector, main.spec.selector.matchLabels, 'the dashboard Service reaches the all-in-one pod');
    });

    it('keeps SQLite on an emptyDir when persistence is off', async () => {
      const docs = await rendered({ webhook: { replicas: 1 }, persistence: { enabled: false } });
      assert.equal(all(docs, 'PersistentVolumeClaim').length, 0);
      const data = workload(docs, 'webhook').spec.template.spec.volumes.find((v: { name: string }) => v.name === 'data');
      assert.ok(data.emptyDir);
    });
  });

  describe('TLS', () => {
    function pem(b64: string): string {
      return Buffer.from(b64, 'base64').toString();
    }
    function tlsSecretOf(docs: Manifest[]): string {
      return [...etcFiles(docs, workload(docs, 'webhook')).values()].find((f) => f.key === 'tls.crt')!.name;
    }

    it('generates a CA and a serving certificate for both Services, and trusts that CA in the webhook', async () => {
      const docs = await rendered();
      const secret = one(docs, 'Secret', tlsSecretOf(docs));
      assert.equal(secret.type, 'kubernetes.io/tls');
      const ca = new X509Certificate(pem(secret.data['ca.crt']));
      const cert = new X509Certificate(pem(secret.data['tls.crt']));
      assert.ok(cert.verify(ca.publicKey), 'serving certificate is signed by the bundled CA');
      assert.ok(cert.checkPrivateKey(createPrivateKey(pem(secret.data['tls.key']))), 'key matches the certificate');
      // The admission Service is the name the API server verifies when it calls the webhook.
      for (const host of [`${FULL}.${NS}.svc`, `${FULL}-dashboard.${NS}.svc`, `${FULL}.${NS}.svc.cluster.local`, `${FULL}-admission.${NS}.svc`]) {
        assert.ok(cert.checkHost(host), `certificate covers ${host}`);
      }
      const hook = one(docs, 'ValidatingWebhookConfiguration').webhooks[0];
      assert.equal(hook.clientConfig.caBundle, secret.data['ca.crt']);
    });

    it('mounts an existing Secret and takes tls.caBundle for the webhook', async () => {
      // The chart only base64-encodes the bundle, so any PEM-shaped text shows where it lands.
      const caPem = '-----BEGIN CERTIFICATE-----\nMIIBexample\n-----END CERTIFICATE-----\n';
      const docs = await rendered({ tls: { existingSecret: 'my-tls', caBundle: caPem } });
      assert.equal(tlsSecretOf(docs), 'my-tls');
      assert.equal(all(docs, 'Secret').filter((s) => s.type === 'kubernetes.io/tls').length, 0, 'the chart does not own the certificate');
      assert.equal(one(docs, 'ValidatingWebhookConfiguration').webhooks[0].clientConfig.caBundle, Buffer.from(caPem).toString('base64'));
    });

    it('omits caBundle when an existing Secret gives none (nothing to look up offline)', async () => {
      const docs = await rendered({ tls: { existingSecret: 'my-tls' } });
      assert.equal(one(docs, 'ValidatingWebhookConfiguration').webhooks[0].clientConfig.caBundle, undefined);
    });

    it('asks cert-manager for the certificate and lets it inject the CA', async () => {
      const docs = await rendered({ tls: { certManager: { enabled: true } } });
      const secretName = tlsSecretOf(docs);
      const cert = all(docs, 'Certificate').find((c) => c.spec.secretName === secretName);
      assert.ok(cert, 'a Certificate writes the mounted Secret');
      assert.ok(cert.spec.dnsNames.includes(`${FULL}.${NS}.svc`));
      const issuer = one(docs, 'Issuer', cert.spec.issuerRef.name);
      assert.ok(issuer.spec.ca, 'signed by the release CA issuer');
      const config = one(docs, 'ValidatingWebhookConfiguration');
      assert.equal(config.metadata.annotations?.['cert-manager.io/inject-ca-from'], `${NS}/${cert.metadata.name}`);
      assert.equal(config.webhooks[0].clientConfig.caBundle, undefined);
    });

    it('uses a given cert-manager issuer without creating its own', async () => {
      const docs = await rendered({ tls: { certManager: { enabled: true, issuerRef: { name: 'corp-ca', kind: 'ClusterIssuer' } } } });
      assert.equal(all(docs, 'Issuer').length, 0);
      assert.deepEqual(one(docs, 'Certificate').spec.issuerRef, { name: 'corp-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' });
    });
  });

  describe('configuration changes', () => {
    const checksum = (docs: Manifest[]) => workload(docs, 'webhook').spec.template.metadata.annotations['checksum/config'];

    it('rolls the pods when config changes, but not for rules (hot-reloaded)', async () => {
      const base = await rendered();
      assert.equal(checksum(await render(valuesFile({}))), checksum(base), 'stable for identical values');
      assert.notEqual(checksum(await rendered({ config: { remediation: { dryRun: false } } })), checksum(base));
      assert.notEqual(checksum(await rendered({ config: { store: { retention: '72h' } } })), checksum(base));
      const rules = 'rules:\n  - name: only\n    match: {pattern: "boom"}\n    priority: P1\n';
      const withRules = await rendered({ rules });
      assert.equal(checksum(withRules), checksum(base));
      assert.equal(one(withRules, 'ConfigMap', `${FULL}-rules`).data['rules.yaml'].trim(), rules.trim());
    });

    it('renders given tokens and generates the missing ingest and read tokens', async () => {
      const given = 'a'.repeat(20);
      const docs = await rendered({ auth: { ingestTokens: [given], adminTokens: ['b'.repeat(24)] } });
      const data = one(docs, 'Secret', `${FULL}-tokens`).data;
      const read = (k: string) => Buffer.from(data[k], 'base64').toString();
      assert.equal(read('ingest-tokens'), `${given}\n`);
      assert.match(read('read-tokens'), /^[A-Za-z0-9]{40}\n$/);
      assert.equal(read('admin-tokens'), `${'b'.repeat(24)}\n`);
      const defaults = one(await rendered(), 'Secret', `${FULL}-tokens`).data;
      assert.equal(defaults['admin-tokens'], '', 'no admin token unless asked: settings stay read-only');
    });

    it('always excludes its own namespace from the webhook and from remediation', async () => {
      const docs = await rendered({ admissionWebhook: { excludeNamespaces: ['noisy'] }, config: { remediation: { excludedNamespaces: ['prod-db'] } } });
      const values = one(docs, 'ValidatingWebhookConfiguration').webhooks[0].namespaceSelector.matchExpressions[0].values;
      assert.deepEqual(values, [NS, 'noisy']);
      assert.deepEqual(loadPodConfig(docs, workload(docs, 'webhook')).remediation.excluded_namespaces, ['prod-db', NS]);
    });

    it('keeps names within 63 characters for a long release name', async () => {
      const docs = await render([], `long-release-${'x'.repeat(40)}`) // 53: Helm's own limit;
      for (const d of docs) assert.ok(d.metadata.name.length <= 63, `${d.kind} ${d.metadata.name}`);
      assertNoDuplicates(docs);
      assert.ok(all(docs, 'Service').some((s) => s.metadata.name.endsWith('-dashboard')), 'suffixes survive truncation');
    });
  });

  describe('values.schema.json and template guards', () => {
    const bad: Array<[string, string[], RegExp]> = [
      ['zero replicas', ['--set', 'webhook.replicas=0'], /at '\/webhook\/replicas'/],
      ['an unknown role', ['--set', 'role=bogus'], /at '\/role'/],
      ['a 30 s webhook timeout', ['--set', 'admissionWebhook.timeoutSeconds=30'], /at '\/admissionWebhook\/timeoutSeconds'/],
      ['a 6 s webhook timeout', ['--set', 'admissionWebhook.timeoutSeconds=6'], /at '\/admissionWebhook\/timeoutSeconds'/],
      ['an unknown tls.mode', ['--set', 'tls.mode=letsencrypt'], /at '\/tls\/mode'/],
      ['a string for replicas', ['--set', 'webhook.replicas=three'], /at '\/webhook\/replicas'/],
      ['an unknown top-level key', ['--set', 'replicas=3'], /additional properties 'replicas'/],
      ['an unknown nested key', ['--set', 'config.remediation.dry_run=false'], /additional properties 'dry_run'/],
      ['a short token', ['--set', 'auth.ingestTokens[0]=short'], /at '\/auth\/ingestTokens\/0'/],
      ['a bad duration', ['--set', 'config.store.retention=a week'], /at '\/config\/store\/retention'/],
      ['an unknown postgresql.enabled', ['--set', 'postgresql.enabled=maybe'], /at '\/postgresql\/enabled'/],
      ['several replicas without PostgreSQL', ['--set', 'webhook.replicas=2', '--set', 'postgresql.enabled=false'], /needs PostgreSQL/],
      ['a PDB that blocks every drain', ['--set', 'webhook.pdb.minAvailable=3'], /minAvailable/],
      ['existingSecret and cert-manager together', ['--set', 'tls.existingSecret=x', '--set', 'tls.certManager.enabled=true'], /choose one/],
      ['tls.mode=existingSecret without a Secret', ['--set', 'tls.mode=existingSecret'], /needs tls.existingSecret/],
    ];
    for (const [what, args, message] of bad) {
      it(`rejects ${what}`, async () => {
        assert.match(await rejected(args), message);
      });
    }

    it('accepts --set tls.existingSecret=NAME alone, as the README promises', async () => {
      const docs = await render(['--set', 'tls.existingSecret=prod-tls']);
      assert.equal(etcFiles(docs, workload(docs, 'webhook')).get('/etc/kube-sentinel/tls/tls.crt')?.name, 'prod-tls');
    });
  });

  describe('NOTES.txt', () => {
    /** helm template skips NOTES.txt, so render it through a copy of the chart that wraps it in a ConfigMap. */
    async function notes(values: object = {}): Promise<string> {
      const chart = join(scratch, `chart-${fileCount++}`);
      cpSync(CHART, chart, { recursive: true });
      const text = readFileSync(join(chart, 'templates/NOTES.txt'), 'utf8');
      writeFileSync(join(chart, 'templates/_notes_probe.tpl'), `{{- define "notes-probe" -}}\n${text}\n{{- end }}\n`);
      writeFileSync(join(chart, 'templates/notes-probe.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes-probe}\ndata:\n  notes: {{ include "notes-probe" . | toJson }}\n');
      const docs = await render(valuesFile(values), RELEASE, chart);
      return one(docs, 'ConfigMap', 'notes-probe').data.notes;
    }

    /** The indented YAML block that follows a line starting with `heading`. */
    function snippet(text: string, heading: string): Record<string, unknown> {
      const lines = text.split('\n');
      const start = lines.findIndex((l) => l.startsWith(heading));
      assert.ok(start >= 0, `NOTES has no "${heading}" section`);
      const block: string[] = [];
      for (const line of lines.slice(start + 2)) {
        if (line.trim() !== '' && !line.startsWith('  ')) break;
        block.push(line.slice(2));
      }
      return parseYaml(block.join('\n'));
    }

    it('prints paste-ready Loki, Prometheus and Alertmanager snippets with the real URL', async () => {
      const text = await notes();
      const host = `${FULL}.${NS}.svc`;
      const loki = snippet(text, '2. Loki ruler') as { ruler: Record<string, any> };
      assert.equal(loki.ruler.alertmanager_url, `https://${host}:8443`);
      assert.equal(loki.ruler.alertmanager_client.type, 'Bearer');
      assert.ok(loki.ruler.alertmanager_client.credentials_file && loki.ruler.alertmanager_client.tls_ca_path);

      const prom = snippet(text, '3. Prometheus') as { alerting: { alertmanagers: Array<Record<string, any>> } };
      const [am] = prom.alerting.alertmanagers;
      assert.equal(am.scheme, 'https');
      assert.equal(am.path_prefix, undefined, '/api/v2/alerts is served at the root');
      assert.deepEqual(am.static_configs[0].targets, [`${host}:8443`]);
      assert.equal(am.authorization.type, 'Bearer');
      assert.ok(am.tls_config.ca_file);

      const alertmanager = snippet(text, '4. Alertmanager') as { receivers: Array<{ webhook_configs: Array<Record<string, any>> }> };
      const [hook] = alertmanager.receivers[0].webhook_configs;
      assert.equal(hook.url, `https://${host}:8443/webhooks/alertmanager`);
      assert.equal(hook.http_config.authorization.type, 'Bearer');
      assert.ok(hook.http_config.tls_config.ca_file);

      assert.ok(text.includes(`kubectl -n ${NS} get secret ${FULL}-tokens -o jsonpath='{.data.ingest-tokens}'`), 'how to read the ingest token');
      assert.match(text, /DRY-RUN/);
    });

    it('names the user-supplied Secrets when they are used', async () => {
      const text = await notes({ auth: { existingSecret: 'my-tokens' }, tls: { existingSecret: 'my-tls' } });
      assert.ok(text.includes('get secret my-tokens '));
      assert.ok(text.includes('get secret my-tls '));
      assert.match(text, /tls\.caBundle/, 'warns that the CA must come from somewhere');
    });
  });
});
