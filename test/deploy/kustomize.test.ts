import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  REPO, all, assertAdmissionWebhook, assertDashboardHasNoRbac, assertNoDuplicates, assertProbes, assertRbac,
  assertRestricted, assertRulesLoad, etcFiles, findKustomize, hasWorkload, loadPodConfig, one, parseManifests,
  requireTool, runTool, workload, type Manifest, type Tool,
} from './support.ts';

const NS = 'kube-sentinel';

interface Expectation {
  replicas: number;
  store: 'sqlite' | 'postgres';
  dryRun: boolean;
  ha: boolean;
}

const OVERLAYS: Record<string, Expectation> = {
  development: { replicas: 1, store: 'sqlite', dryRun: true, ha: false },
  staging: { replicas: 3, store: 'postgres', dryRun: true, ha: true },
  production: { replicas: 3, store: 'postgres', dryRun: false, ha: true },
};

describe('deploy: kustomize overlays', function () {
  this.timeout(60_000);
  let kustomize: Tool;
  const builds = new Map<string, Manifest[]>();

  before(async function () {
    kustomize = requireTool(this, findKustomize(process.env.PATH), 'kustomize (or kubectl kustomize)', Boolean(process.env.CI));
    for (const dir of ['base', ...Object.keys(OVERLAYS).map((o) => `overlays/${o}`)]) {
      const r = await runTool(kustomize, ['build', join(REPO, 'deploy', dir)]);
      assert.equal(r.code, 0, `kustomize build deploy/${dir} failed:\n${r.stderr}`);
      builds.set(dir, parseManifests(r.stdout));
    }
  });

  it('base builds into a complete single-replica install', () => {
    const docs = builds.get('base')!;
    assertNoDuplicates(docs);
    assertRbac(docs, NS);
    assertRestricted(docs);
    const config = loadPodConfig(docs, workload(docs, 'webhook'));
    assert.equal(config.role, 'all');
    assert.equal(one(docs, 'Namespace').metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
  });

  for (const [overlay, want] of Object.entries(OVERLAYS)) {
    describe(overlay, () => {
      const docs = () => builds.get(`overlays/${overlay}`)!;

      it('has unique, well-formed resources in one namespace', () => {
        assertNoDuplicates(docs());
        for (const d of docs()) {
          const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingWebhookConfiguration'].includes(d.kind);
          assert.equal(d.metadata.namespace, clusterScoped ? undefined : NS, `${d.kind} ${d.metadata.name}`);
        }
      });

      it('grants exactly the RBAC of src/cluster/rbac.ts', () => {
        assertRbac(docs(), NS);
      });

      it('runs every container under the restricted profile', () => {
        assertRestricted(docs());
      });

      it('registers the events admission webhook', () => {
        assertAdmissionWebhook(docs(), NS, 'kube-sentinel');
      });

      it(`runs ${want.replicas} replica(s) on ${want.store}, dry-run ${want.dryRun}, with a config the server accepts`, () => {
        const main = workload(docs(), 'webhook');
        assert.equal(main.spec.replicas, want.replicas);
        assertProbes(main);
        const config = loadPodConfig(docs(), main);
        assert.equal(config.store.type, want.store);
        assert.equal(config.role, want.ha ? 'webhook' : 'all');
        assert.equal(config.remediation.dry_run, want.dryRun);
        assert.equal(config.leader_election.namespace, NS);
        assert.ok(config.remediation.excluded_namespaces.includes(NS));
        assertRulesLoad(docs(), main);
      });

      it('rolls pods on config changes but hot-reloads rules', () => {
        const files = etcFiles(docs(), workload(docs(), 'webhook'));
        assert.match(files.get('/etc/kube-sentinel/config.yaml')!.name, /^kube-sentinel-config-[a-z0-9]{10}$/, 'content-hashed name');
        assert.equal(files.get('/etc/kube-sentinel/rules.yaml')!.name, 'kube-sentinel-rules', 'stable name');
      });

      if (want.ha) {
        it('keeps 2 of 3 replicas through disruptions, spread over nodes, behind NetworkPolicies', () => {
          const main = workload(docs(), 'webhook');
          const pdb = one(docs(), 'PodDisruptionBudget');
          assert.equal(pdb.spec.minAvailable, 2);
          assert.deepEqual(pdb.spec.selector.matchLabels, main.spec.selector.matchLabels);
          const keys = main.spec.template.spec.topologySpreadConstraints.map((t: { topologyKey: string }) => t.topologyKey);
          assert.deepEqual(keys, ['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
          assert.equal(main.spec.strategy.type, 'RollingUpdate');
          const policies = all(docs(), 'NetworkPolicy');
          for (const component of ['webhook', 'dashboard']) {
            const labels = workload(docs(), component).spec.template.metadata.labels;
            const np = policies.find((p) => Object.entries(p.spec.podSelector.matchLabels).every(([k, v]) => labels[k] === v));
            assert.ok(np, `a NetworkPolicy selects the ${component} pods`);
            assert.deepEqual(np.spec.policyTypes, ['Ingress', 'Egress']);
          }
        });

        it('runs a read-only dashboard with no RBAC and only the read tokens', () => {
          const dashboard = workload(docs(), 'dashboard');
          assertDashboardHasNoRbac(docs());
          const config = loadPodConfig(docs(), dashboard);
          assert.equal(config.role, 'dashboard');
          const tokens = [...etcFiles(docs(), dashboard).keys()].filter((f) => f.includes('/tokens/'));
          assert.deepEqual(tokens, ['/etc/kube-sentinel/tokens/read-tokens']);
        });
      } else {
        it('keeps SQLite on a PersistentVolumeClaim without a PDB or a separate dashboard', () => {
          const volumes = workload(docs(), 'webhook').spec.template.spec.volumes;
          const data = volumes.find((v: { name: string }) => v.name === 'data');
          assert.equal(data.emptyDir, undefined);
          one(docs(), 'PersistentVolumeClaim', data.persistentVolumeClaim.claimName);
          assert.equal(all(docs(), 'PodDisruptionBudget').length, 0);
          assert.equal(hasWorkload(docs(), 'dashboard'), false);
        });
      }
    });
  }

  it('ships the same default rules as the server and the Helm chart', () => {
    const server = readFileSync(join(REPO, 'src/classify/default-rules.yaml'), 'utf8');
    assert.equal(readFileSync(join(REPO, 'deploy/base/rules.yaml'), 'utf8'), server, 'deploy/base/rules.yaml drifted from src/classify/default-rules.yaml');
    assert.equal(readFileSync(join(REPO, 'helm/kube-sentinel/files/rules.yaml'), 'utf8'), server, 'the chart\'s files/rules.yaml drifted from src/classify/default-rules.yaml');
  });
});
