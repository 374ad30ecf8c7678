// Shared by the Helm and kustomize tests: finding the tools, rendering, and the structural checks
// both packagings must pass (so the chart and deploy/ cannot drift apart on what matters).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { parseRules } from '../../src/classify/load.ts';
import { CLUSTER_RULES, LEASE_RULES, type RbacRule } from '../../src/cluster/rbac.ts';
import { configSchema, type Config } from '../../src/config/schema.ts';

const run = promisify(execFile);

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

// Kubernetes objects are loosely shaped JSON; the checks below assert on the parts they need.
export type Manifest = { apiVersion: string; kind: string; metadata: Meta; [field: string]: any };
interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

// ---- tools ---------------------------------------------------------------------------------------

export interface Tool {
  /** argv prefix, e.g. ['/root/go/bin/helm'] or ['/usr/bin/kubectl', 'kustomize'] */
  argv: string[];
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, pathVar: string | undefined): string | null {
  for (const dir of (pathVar ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** PATH first, then the known install locations. */
export function findTool(name: string, fallbacks: string[], pathVar: string | undefined): Tool | null {
  const found = onPath(name, pathVar) ?? fallbacks.find(executable) ?? null;
  return found ? { argv: [found] } : null;
}

/** kustomize itself, else `kubectl kustomize` (the same engine, built into kubectl). */
export function findKustomize(pathVar: string | undefined): Tool | null {
  const direct = findTool('kustomize', ['/root/go/bin/kustomize', '/usr/local/bin/kustomize'], pathVar);
  if (direct) return direct;
  const kubectl = findTool('kubectl', ['/usr/local/bin/kubectl', '/usr/bin/kubectl'], pathVar);
  return kubectl ? { argv: [...kubectl.argv, 'kustomize'] } : null;
}

/**
 * A missing tool fails the suite in CI (a silently skipped packaging test proves nothing) and skips
 * it loudly on a workstation.
 */
export function requireTool(ctx: Mocha.Context, tool: Tool | null, name: string, ci: boolean): Tool {
  if (tool) return tool;
  if (ci) throw new Error(`${name} not found on PATH or in the usual locations; CI must have it`);
  console.warn(`\n  !! SKIPPING ${ctx.test?.parent?.fullTitle() ?? name} tests: ${name} is not installed\n`);
  ctx.skip();
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runTool(tool: Tool, args: string[], cwd = REPO): Promise<RunResult> {
  const [cmd, ...pre] = tool.argv;
  try {
    const { stdout, stderr } = await run(cmd, [...pre, ...args], { cwd, maxBuffer: 32 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

// ---- parsing -------------------------------------------------------------------------------------

/** Every document must parse and carry apiVersion, kind and metadata.name; empty ones are dropped. */
export function parseManifests(text: string): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    assert.deepEqual(doc.errors.map(String), [], 'a rendered document does not parse');
    const value = doc.toJS() as Manifest | null;
    if (value === null) continue;
    assert.equal(typeof value.apiVersion, 'string', `document without apiVersion: ${JSON.stringify(value).slice(0, 200)}`);
    assert.equal(typeof value.kind, 'string', `document without kind: ${JSON.stringify(value).slice(0, 200)}`);
    assert.ok(value.metadata?.name, `${value.kind} without metadata.name`);
    out.push(value);
  }
  return out;
}

export function all(docs: Manifest[], kind: string): Manifest[] {
  return docs.filter((d) => d.kind === kind);
}

export function one(docs: Manifest[], kind: string, name?: string): Manifest {
  const found = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
  assert.equal(found.length, 1, `expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0];
}

export function maybe(docs: Manifest[], kind: string, name: string): Manifest | undefined {
  return docs.find((d) => d.kind === kind && d.metadata.name === name);
}

/** The Deployment whose pods run with the given app.kubernetes.io/component label. */
export function workload(docs: Manifest[], component: string): Manifest {
  const found = all(docs, 'Deployment').filter((d) => d.spec.template.metadata.labels['app.kubernetes.io/component'] === component);
  assert.equal(found.length, 1, `expected one ${component} Deployment, found ${found.length}`);
  return found[0];
}

export function hasWorkload(docs: Manifest[], component: string): boolean {
  return all(docs, 'Deployment').some((d) => d.spec.template.metadata.labels['app.kubernetes.io/component'] === component);
}

export function mainContainer(deployment: Manifest) {
  const c = deployment.spec.template.spec.containers.find((x: { name: string }) => x.name === 'kube-sentinel');
  assert.ok(c, `${deployment.metadata.name} has no kube-sentinel container`);
  return c;
}

// ---- checks shared by the chart and deploy/ -------------------------------------------------------

export function assertNoDuplicates(docs: Manifest[]): void {
  const seen = new Set<string>();
  for (const d of docs) {
    const key = `${d.kind}/${d.metadata.namespace ?? ''}/${d.metadata.name}`;
    assert.ok(!seen.has(key), `duplicate resource ${key}`);
    seen.add(key);
  }
}

/** RBAC rules flattened to "group resource verb" triples, rejecting anything wider than that. */
function permissions(rules: Array<Record<string, string[] | undefined>>): string[] {
  const out: string[] = [];
  for (const r of rules) {
    assert.equal(r.resourceNames, undefined, 'rules carry no resourceNames (rbac.ts has none)');
    assert.equal(r.nonResourceURLs, undefined, 'no nonResourceURLs');
    for (const g of r.apiGroups ?? []) for (const res of r.resources ?? []) for (const v of r.verbs ?? []) {
      assert.ok(![g, res, v].includes('*'), `wildcard in RBAC rule ${JSON.stringify(r)}`);
      out.push(`${g} ${res} ${v}`);
    }
  }
  return out.sort();
}

function expected(rules: readonly RbacRule[]): string[] {
  return rules.flatMap((r) => r.verbs.map((v) => `${r.apiGroup} ${r.resource} ${v}`)).sort();
}

/**
 * The webhook ServiceAccount gets exactly CLUSTER_RULES cluster-wide and LEASE_RULES in its own
 * namespace; nothing else in the rendering grants anything (DASHBOARD_RULES is empty).
 */
export function assertRbac(docs: Manifest[], namespace: string): void {
  const sa = workload(docs, 'webhook').spec.template.spec.serviceAccountName;
  const clusterBinding = one(docs, 'ClusterRoleBinding');
  assert.deepEqual(clusterBinding.subjects, [{ kind: 'ServiceAccount', name: sa, namespace }]);
  const clusterRole = one(docs, 'ClusterRole', clusterBinding.roleRef.name);
  assert.deepEqual(permissions(clusterRole.rules), expected(CLUSTER_RULES));

  const binding = one(docs, 'RoleBinding');
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: sa, namespace }]);
  const role = one(docs, 'Role', binding.roleRef.name);
  assert.equal(role.metadata.namespace ?? namespace, namespace);
  assert.deepEqual(permissions(role.rules), expected(LEASE_RULES));
}

export function assertDashboardHasNoRbac(docs: Manifest[]): void {
  const dashboard = workload(docs, 'dashboard').spec.template.spec;
  assert.notEqual(dashboard.serviceAccountName, workload(docs, 'webhook').spec.template.spec.serviceAccountName);
  assert.equal(dashboard.automountServiceAccountToken, false, 'the dashboard holds no API token');
  for (const b of [...all(docs, 'RoleBinding'), ...all(docs, 'ClusterRoleBinding')]) {
    assert.ok(!b.subjects.some((s: { name: string }) => s.name === dashboard.serviceAccountName), `${b.metadata.name} binds the dashboard SA`);
  }
}

/** The "restricted" Pod Security Standard on every pod, plus a read-only root with a writable /tmp. */
export function assertRestricted(docs: Manifest[]): void {
  const pods = docs.filter((d) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(d.kind));
  assert.ok(pods.length > 0, 'no workloads rendered');
  for (const w of pods) {
    const spec = w.spec.template.spec;
    const where = `${w.kind}/${w.metadata.name}`;
    assert.equal(spec.securityContext?.runAsNonRoot, true, `${where}: pod runAsNonRoot`);
    assert.equal(spec.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${where}: pod seccomp`);
    assert.ok(!spec.hostNetwork && !spec.hostPID && !spec.hostIPC, `${where}: no host namespaces`);
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      const sc = c.securityContext ?? {};
      const at = `${where}/${c.name}`;
      assert.equal(sc.allowPrivilegeEscalation, false, `${at}: allowPrivilegeEscalation`);
      assert.equal(sc.readOnlyRootFilesystem, true, `${at}: readOnlyRootFilesystem`);
      assert.equal(sc.privileged ?? false, false, `${at}: privileged`);
      assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${at}: capabilities.drop`);
      assert.equal(sc.capabilities?.add, undefined, `${at}: no added capabilities`);
      assert.equal(sc.seccompProfile?.type ?? spec.securityContext.seccompProfile.type, 'RuntimeDefault', `${at}: seccomp`);
      const uid = sc.runAsUser ?? spec.securityContext.runAsUser;
      assert.ok(Number.isInteger(uid) && uid > 0, `${at}: runs as a non-zero UID (${uid})`);
      if (c.name === 'kube-sentinel') assert.equal(uid, 1000, `${at}: the image's UID 1000`);
      assert.ok(c.volumeMounts?.some((m: { mountPath: string }) => m.mountPath === '/tmp'), `${at}: writable /tmp`);
      assert.ok(c.resources?.requests && c.resources?.limits, `${at}: resource requests and limits`);
    }
  }
}

/** Probes and the single HTTPS port as the server serves them. */
export function assertProbes(deployment: Manifest): void {
  const c = mainContainer(deployment);
  const ports = c.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]);
  // The admission listener (web.admission_listen) has its own port; probes stay on https.
  assert.ok([JSON.stringify([['https', 8443]]), JSON.stringify([['https', 8443], ['admission', 9443]])].includes(JSON.stringify(ports)), JSON.stringify(ports));
  assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'https', scheme: 'HTTPS' });
  assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'https', scheme: 'HTTPS' });
}

/**
 * The webhook calls `<serviceName>-admission` on its port `admission` (9443): the only Service that
 * exposes the admission listener. The ingest Service keeps 8443 alone, and no Ingress reaches 9443.
 */
export function assertAdmissionWebhook(docs: Manifest[], namespace: string, serviceName: string): Manifest {
  const config = one(docs, 'ValidatingWebhookConfiguration');
  assert.equal(config.webhooks.length, 1);
  const [hook] = config.webhooks;
  assert.deepEqual(hook.admissionReviewVersions, ['v1']);
  assert.equal(hook.failurePolicy, 'Ignore');
  assert.equal(hook.sideEffects, 'NoneOnDryRun');
  assert.equal(hook.matchPolicy, 'Equivalent');
  assert.ok(hook.timeoutSeconds >= 1 && hook.timeoutSeconds <= 5, `timeoutSeconds ${hook.timeoutSeconds}`);
  const admissionService = `${serviceName}-admission`;
  assert.deepEqual(hook.clientConfig.service, { name: admissionService, namespace, path: '/webhooks/admission', port: 9443 });
  const rules = hook.rules.map((r: Record<string, string[]>) => `${r.apiGroups.join()}/${r.apiVersions.join()}/${r.resources.join()} ${[...r.operations].sort().join()}`);
  assert.deepEqual(rules.sort(), ['/v1/events CREATE,UPDATE', 'events.k8s.io/v1/events CREATE,UPDATE']);
  const nsRule = hook.namespaceSelector.matchExpressions.find((e: { key: string }) => e.key === 'kubernetes.io/metadata.name');
  assert.equal(nsRule?.operator, 'NotIn');
  assert.ok(nsRule.values.includes(namespace), 'the release namespace is excluded');
  const svc = one(docs, 'Service', serviceName);
  assert.deepEqual(svc.spec.ports.map((p: { port: number; targetPort: string }) => [p.port, p.targetPort]), [[8443, 'https']]);
  const adm = one(docs, 'Service', admissionService);
  assert.deepEqual(adm.spec.ports.map((p: { name: string; port: number; targetPort: string }) => [p.name, p.port, p.targetPort]), [['admission', 9443, 'admission']]);
  for (const s of all(docs, 'Service')) {
    if (s.metadata.name === admissionService) continue;
    assert.ok(!s.spec.ports.some((p: { port: number; targetPort: unknown }) => p.port === 9443 || p.targetPort === 'admission'), `${s.metadata.name} must not expose admission`);
  }
  for (const ing of all(docs, 'Ingress')) {
    assert.ok(!JSON.stringify(ing.spec).includes(admissionService), 'no Ingress reaches the admission Service');
  }
  return config;
}

// ---- what the pods will read ------------------------------------------------------------------------

interface ProjectedItem {
  key: string;
  path: string;
}

/** Files the pod sees under /etc/kube-sentinel: path → where it comes from. */
export function etcFiles(docs: Manifest[], deployment: Manifest): Map<string, { kind: 'ConfigMap' | 'Secret'; name: string; key: string }> {
  const spec = deployment.spec.template.spec;
  const mount = mainContainer(deployment).volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/etc/kube-sentinel');
  const volume = spec.volumes.find((v: { name: string }) => v.name === mount.name);
  const files = new Map<string, { kind: 'ConfigMap' | 'Secret'; name: string; key: string }>();
  for (const source of volume.projected.sources) {
    const [kind, ref] = source.configMap ? (['ConfigMap', source.configMap] as const) : (['Secret', source.secret] as const);
    for (const item of ref.items as ProjectedItem[]) files.set(`/etc/kube-sentinel/${item.path}`, { kind, name: ref.name, key: item.key });
  }
  return files;
}

/** Reads a rendered ConfigMap file the pod will see; fails if the ConfigMap is not in the rendering. */
function configMapFile(docs: Manifest[], files: ReturnType<typeof etcFiles>, path: string): string {
  const ref = files.get(path);
  assert.ok(ref && ref.kind === 'ConfigMap', `${path} is not mounted from a ConfigMap`);
  const text = one(docs, 'ConfigMap', ref.name).data[ref.key];
  assert.equal(typeof text, 'string', `ConfigMap ${ref.name} has no key ${ref.key}`);
  return text;
}

/**
 * The config.yaml a Deployment's pods will load, validated by the server's own schema, with every
 * file it names actually mounted. This is what proves the packaging and the code agree.
 */
export function loadPodConfig(docs: Manifest[], deployment: Manifest): Config {
  const c = mainContainer(deployment);
  assert.deepEqual(c.args, ['serve', '--config', '/etc/kube-sentinel/config.yaml', '--rules', '/etc/kube-sentinel/rules.yaml']);
  const files = etcFiles(docs, deployment);
  const raw = parseYaml(configMapFile(docs, files, '/etc/kube-sentinel/config.yaml'));
  const parsed = configSchema.safeParse(raw);
  assert.ok(parsed.success, `config.yaml of ${deployment.metadata.name} fails the server's schema: ${parsed.error?.message}`);
  const config = parsed.data;

  const named = [config.tls.cert_file, config.tls.key_file, config.tls.client_ca_file, config.auth.ingest_tokens_file, config.auth.read_tokens_file, config.auth.admin_tokens_file];
  for (const file of named.filter((f): f is string => f !== undefined)) {
    assert.ok(files.has(file), `${deployment.metadata.name}: config names ${file} but it is not mounted`);
  }
  assert.equal(config.tls.self_signed, false, 'a missing certificate must fail, not be replaced');
  assert.match(config.web.listen, /^0\.0\.0\.0:8443$/);

  const env = new Map<string, unknown>(c.env.map((e: { name: string; value?: string; valueFrom?: unknown }) => [e.name, e.valueFrom ?? e.value]));
  assert.deepEqual(env.get('POD_NAME'), { fieldRef: { fieldPath: 'metadata.name' } });
  assert.deepEqual(env.get('POD_NAMESPACE'), { fieldRef: { fieldPath: 'metadata.namespace' } });
  if (config.store.type === 'postgres') {
    assert.ok(config.store.url === undefined, 'the database URL (a credential) stays out of the ConfigMap');
    assert.ok((env.get('DATABASE_URL') as { secretKeyRef?: unknown } | undefined)?.secretKeyRef, 'postgres needs DATABASE_URL from a Secret');
  } else {
    assert.equal(deployment.spec.replicas, 1, 'SQLite serves exactly one replica');
    assert.equal(deployment.spec.strategy?.type, 'Recreate', 'SQLite: the old pod must stop first');
    assert.ok(config.store.path.startsWith('/var/lib/kube-sentinel/'), 'the database lives on the data volume');
    assert.equal(env.get('DATABASE_URL'), undefined);
  }
  return config;
}

/** The rules.yaml the pods will load compiles with the server's own loader. */
export function assertRulesLoad(docs: Manifest[], deployment: Manifest): string {
  const text = configMapFile(docs, etcFiles(docs, deployment), '/etc/kube-sentinel/rules.yaml');
  const set = parseRules(text, 'rendered rules.yaml');
  assert.ok(set.rules.length > 0, 'no rules');
  return text;
}
