// The chart and the kustomize overlays judged by a real apiserver: helm install / upgrade / a replica
// change through helm's own client, every rendered object of every variant admitted by a server-side
// dry run with strict field validation and no warnings, generated secrets stable across upgrades, the
// release in a namespace enforcing Pod Security `restricted`. Webhook configurations are rewritten to a
// loopback URL by a post-renderer before the apiserver sees them (nothing listens there in this suite:
// the webhook's failurePolicy Ignore keeps Event writes working).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { REPO, findKustomize, parseManifests, runTool, type Manifest } from '../../deploy/support.ts';
import { waitFor } from '../../support/proc.ts';
import { clusterEnv, type ClusterEnv } from './env.ts';
import { helm, renderChart } from './sentinel.ts';
import { rewriteWebhooks } from './webhook-rewrite.ts';

const POST_RENDERER = join(REPO, 'test/cluster/real/post-render.ts');
/** Nothing listens here: connection refused at once, so the Ignore policy is exercised too. */
const DEAD_WEBHOOK = 'https://127.0.0.1:1/webhooks/admission';

let releaseSeq = 0;

/** Kinds whose CRDs this control plane does not have. */
const skippedKinds = new Set<string>();

async function dryRunAll(env: ClusterEnv, docs: Manifest[], namespace: string): Promise<string[]> {
  const problems: string[] = [];
  for (const d of docs) {
    if (!(await env.cp.admin.serves(d.apiVersion, d.kind))) {
      skippedKinds.add(`${d.apiVersion} ${d.kind}`);
      continue;
    }
    const r = await env.cp.admin.create(d, { dryRun: true, namespace });
    if (r.status !== 201) problems.push(`${d.kind}/${d.metadata.name}: HTTP ${r.status} ${r.body?.message ?? ''}`);
    for (const w of r.warnings) problems.push(`${d.kind}/${d.metadata.name}: warning ${w}`);
  }
  return problems;
}

describe('cluster: the Helm chart and kustomize overlays on a real apiserver', function () {
  this.timeout(180_000);
  let env: ClusterEnv;
  let scratch: string;

  before(async () => {
    env = clusterEnv();
    scratch = mkdtempSync(join(tmpdir(), 'ks-chart-'));
  });
  after(() => {
    if (skippedKinds.size > 0) console.log(`      not checked (no CRD on this control plane): ${[...skippedKinds].sort().join(', ')}`);
  });

  async function helmRun(args: string[], namespace: string) {
    const r = await runTool(helm(), [...args, '--namespace', namespace, '--kubeconfig', env.cp.adminKubeconfig], REPO);
    // The apiserver's warnings reach helm's stderr as client-go warning lines.
    const warnings = r.stderr.split('\n').filter((l) => /warning/i.test(l) && !/WARNING: Kubernetes configuration file is (group|world)-readable/.test(l));
    return { ...r, warnings };
  }
  const helmEnv = { KS_WEBHOOK_URL: DEAD_WEBHOOK, KS_WEBHOOK_KEEP_CA: '1' };

  const variants: Array<[string, Record<string, unknown>]> = [
    ['defaults', {}],
    ['single replica on SQLite', { webhook: { replicas: 1 } }],
    ['tls.existingSecret', { tls: { existingSecret: 'my-tls' } }],
    ['tls.certManager', { tls: { certManager: { enabled: true } } }],
    ['network policy, service monitor, ingress', { networkPolicy: { enabled: true }, serviceMonitor: { enabled: true }, dashboard: { ingress: { enabled: true } } }],
  ];
  for (const [name, values] of variants) {
    it(`admits every rendered object with no warnings: ${name}`, async () => {
      const ns = `chart-dry-${Date.now() % 100_000}`;
      await env.scene.namespace(ns);
      const file = join(scratch, `${name.replace(/\W+/g, '-')}.yaml`);
      writeFileSync(file, stringify(values));
      // Its own release name: cluster-scoped names (ClusterRole, webhook configuration) must not collide.
      const docs = rewriteWebhooks(await renderChart(['-f', file], ns, `dry${++releaseSeq}`), { url: DEAD_WEBHOOK, ca: env.cp.ca });
      assert.ok(docs.length > 5);
      assert.deepEqual(await dryRunAll(env, docs, ns), []);
    });
  }

  it('installs, upgrades and changes the replica count with helm; generated TLS, tokens and caBundle are stable', async () => {
    const ns = 'chart-live';
    const release = 'live';
    await env.scene.namespace(ns);
    const base = ['--post-renderer', POST_RENDERER, '--wait=false'];
    const install = await withEnv(helmEnv, () => helmRun(['install', release, 'helm/kube-sentinel', ...base], ns));
    assert.equal(install.code, 0, install.stderr);
    assert.deepEqual(install.warnings, []);
    const snapshot = async () => {
      const tls = await env.cp.admin.get(`/api/v1/namespaces/${ns}/secrets/${release}-kube-sentinel-tls`);
      const secrets = await env.cp.admin.get(`/api/v1/namespaces/${ns}/secrets`);
      const tokens = secrets.items.filter((s: any) => /token/.test(s.metadata.name)).map((s: any) => [s.metadata.name, s.data]);
      const vwc = await env.cp.admin.get(`/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${release}-kube-sentinel`);
      return { tls: tls.data, tokens, caBundle: vwc.webhooks[0].clientConfig.caBundle, url: vwc.webhooks[0].clientConfig.url };
    };
    const first = await snapshot();
    assert.equal(first.url, DEAD_WEBHOOK, 'the post-renderer pointed the webhook at loopback');
    assert.equal(first.caBundle, first.tls['ca.crt'], 'the webhook trusts the generated CA');
    assert.ok(first.tokens.length > 0, 'generated tokens exist');
    await waitFor('webhook pods created', async () => (await env.cp.admin.get(`/api/v1/namespaces/${ns}/pods`)).items.length >= 3);

    const upgrade = await withEnv(helmEnv, () => helmRun(['upgrade', release, 'helm/kube-sentinel', ...base], ns));
    assert.equal(upgrade.code, 0, upgrade.stderr);
    assert.deepEqual(upgrade.warnings, []);
    assert.deepEqual(await snapshot(), first, 'TLS secret, tokens and caBundle unchanged across an upgrade');

    const scale = await withEnv(helmEnv, () => helmRun(['upgrade', release, 'helm/kube-sentinel', ...base, '--set', 'webhook.replicas=5'], ns));
    assert.equal(scale.code, 0, scale.stderr);
    const webhook = await env.cp.admin.get(`/apis/apps/v1/namespaces/${ns}/deployments/${release}-kube-sentinel`);
    assert.equal(webhook.spec.replicas, 5);
    await waitFor('5 webhook pods', async () => {
      const pods = await env.cp.admin.get(`/api/v1/namespaces/${ns}/pods?labelSelector=app.kubernetes.io%2Fcomponent%3Dwebhook`);
      return pods.items.filter((p: any) => !p.metadata.deletionTimestamp).length === 5;
    });
    assert.deepEqual(await snapshot(), first);
    const un = await helmRun(['uninstall', release, '--wait=false'], ns);
    assert.equal(un.code, 0, un.stderr);
  });

  it('runs in a namespace that enforces Pod Security "restricted": every pod is admitted', async () => {
    const ns = 'chart-restricted';
    await env.scene.namespace(ns, {}, {
      'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest',
      'pod-security.kubernetes.io/warn': 'restricted', 'pod-security.kubernetes.io/warn-version': 'latest',
    });
    const r = await withEnv(helmEnv, () => helmRun(['install', 'restricted', 'helm/kube-sentinel', '--post-renderer', POST_RENDERER, '--wait=false'], ns));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.warnings, [], 'no Pod Security warnings for the pod templates');
    const deployments = (await env.cp.admin.get(`/apis/apps/v1/namespaces/${ns}/deployments`)).items;
    const wanted = deployments.reduce((n: number, d: any) => n + d.spec.replicas, 0);
    await waitFor(`${wanted} pods admitted under enforce=restricted`, async () => {
      const pods = await env.cp.admin.get(`/api/v1/namespaces/${ns}/pods`);
      return pods.items.length >= wanted;
    }, 30_000);
    const rs = (await env.cp.admin.get(`/apis/apps/v1/namespaces/${ns}/replicasets`)).items;
    for (const x of rs) {
      const failure = (x.status.conditions ?? []).find((c: any) => c.type === 'ReplicaFailure');
      assert.equal(failure, undefined, `${x.metadata.name}: ${failure?.message}`);
    }
    await helmRun(['uninstall', 'restricted', '--wait=false'], ns);
  });

  for (const overlay of ['development', 'staging', 'production']) {
    it(`admits the kustomize overlay ${overlay} (server-side dry run)`, async () => {
      const kustomize = findKustomize(process.env.PATH);
      if (!kustomize) throw new Error('kustomize is not installed');
      const r = await runTool(kustomize, ['build', `deploy/overlays/${overlay}`], REPO);
      assert.equal(r.code, 0, r.stderr);
      const docs = rewriteWebhooks(parseManifests(r.stdout), { url: DEAD_WEBHOOK, ca: env.cp.ca });
      // Namespaces for real (a dry-run object cannot live in a dry-run namespace), the rest dry.
      for (const n of docs.filter((d) => d.kind === 'Namespace')) {
        const c = await env.cp.admin.create(n);
        assert.ok(c.status === 201 || c.status === 409, JSON.stringify(c.body));
      }
      assert.deepEqual(await dryRunAll(env, docs.filter((d) => d.kind !== 'Namespace'), 'default'), []);
    });
  }
});

async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
