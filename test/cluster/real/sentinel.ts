// Kube Sentinel on the real control plane, as the chart deploys it: the chart's own RBAC objects
// (rendered by helm) in the release namespace, and the server authenticating with a TokenRequest token
// of the chart's webhook ServiceAccount — never as admin — so every call it makes is judged by the
// real RBAC authorizer.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findTool, one, parseManifests, runTool, type Manifest } from '../../deploy/support.ts';
import { freePort, waitFor } from '../../support/proc.ts';
import { READ_TOKEN, startServer, type ServerProc } from '../../support/server-proc.ts';
import { credentialId } from './control-plane.ts';
import type { ClusterEnv } from './env.ts';

export const KS_NAMESPACE = 'kube-sentinel';
const RELEASE = 'ks';
const CHART = 'helm/kube-sentinel';
const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

export function helm() {
  const tool = findTool('helm', ['/root/go/bin/helm', '/usr/local/bin/helm'], process.env.PATH);
  if (!tool) throw new Error('helm is not installed (go install helm.sh/helm/v3/cmd/helm)');
  return tool;
}

export async function renderChart(args: string[] = [], namespace = KS_NAMESPACE, release = RELEASE): Promise<Manifest[]> {
  const r = await runTool(helm(), ['template', release, CHART, '--namespace', namespace, ...args]);
  if (r.code !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return parseManifests(r.stdout);
}

export interface ChartIdentity {
  webhookServiceAccount: string;
  dashboardServiceAccount: string;
  leaseName: string;
}

let installed: Promise<ChartIdentity> | null = null;

/** The chart's ServiceAccounts and RBAC in the release namespace (once per run). */
export function installChartRbac(env: ClusterEnv): Promise<ChartIdentity> {
  installed ??= (async () => {
    const docs = await renderChart();
    if (!(await env.cp.admin.find(`/api/v1/namespaces/${KS_NAMESPACE}`))) await env.scene.namespace(KS_NAMESPACE);
    for (const d of docs.filter((x) => RBAC_KINDS.has(x.kind))) {
      const r = await env.cp.admin.create(d, { namespace: KS_NAMESPACE });
      assert.ok(r.status === 201 || r.status === 409, `${d.kind}/${d.metadata.name}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    }
    const webhook = docs.find((d) => d.kind === 'Deployment' && d.metadata.labels?.['app.kubernetes.io/component'] === 'webhook');
    const dashboard = docs.find((d) => d.kind === 'Deployment' && d.metadata.labels?.['app.kubernetes.io/component'] === 'dashboard');
    assert.ok(webhook && dashboard, 'the chart renders a webhook and a dashboard Deployment');
    const role = one(docs, 'Role');
    const leaseRule = role.rules.find((r: any) => (r.resources ?? []).includes('leases'));
    return {
      webhookServiceAccount: webhook.spec.template.spec.serviceAccountName,
      dashboardServiceAccount: dashboard.spec.template.spec.serviceAccountName,
      leaseName: leaseRule?.resourceNames?.[0] ?? `${RELEASE}-kube-sentinel-leader`,
    };
  })();
  return installed;
}

export interface Credentials {
  kubeconfig: string;
  token: string;
  /** How the apiserver's audit log names this token. */
  credentialId: string;
}

let credSeq = 0;

/** A fresh TokenRequest token of the chart's webhook (or dashboard) ServiceAccount, and a kubeconfig for it. */
export async function serviceAccountCredentials(env: ClusterEnv, which: 'webhook' | 'dashboard' = 'webhook'): Promise<Credentials> {
  const id = await installChartRbac(env);
  const sa = which === 'webhook' ? id.webhookServiceAccount : id.dashboardServiceAccount;
  const token = await env.scene.token(KS_NAMESPACE, sa);
  return { kubeconfig: env.cp.kubeconfigFor(`${which}-${++credSeq}`, token), token, credentialId: credentialId(token) };
}

/** Rules that name their action by a label, so each test picks the action it exercises. */
const TEST_RULES = `
rules:
  - name: test-restart
    match: {labels: {ks_test: restart}}
    priority: P1
    remediation: {action: restart-pod, cooldown: 10m}
  - name: test-scale-up
    match: {labels: {ks_test: scale-up}}
    priority: P2
    remediation: {action: scale-up, params: {replicas: "+1", max_replicas: "3"}, cooldown: 1s}
  - name: test-scale-down
    match: {labels: {ks_test: scale-down}}
    priority: P2
    remediation: {action: scale-down, params: {replicas: "-1", min_replicas: "1"}, cooldown: 1s}
  - name: test-rollback
    match: {labels: {ks_test: rollback}}
    priority: P1
    remediation: {action: rollback, cooldown: 1s}
  - name: test-stuck
    match: {labels: {ks_test: stuck}}
    priority: P2
    remediation: {action: delete-stuck-pods, params: {threshold: 0s}, cooldown: 1s}
  # Matches the text of Kube Sentinel's own remediation Events too: were they ever recorded, the
  # admission suite would see a group from them.
  - name: test-crashloop-event
    match: {pattern: "CrashLoopBackOff|Back-off restarting failed container|Kube Sentinel", sources: [event]}
    priority: P1
`;

const admissionPorts = new WeakMap<ServerProc, number>();

/** Where the apiserver reaches the server's admission route (its own listener, web.admission_listen). */
export function admissionUrl(server: ServerProc): string {
  const port = admissionPorts.get(server);
  if (port === undefined) throw new Error('this server was not started by startSentinel');
  return `https://127.0.0.1:${port}/webhooks/admission`;
}

export interface SentinelOptions {
  dryRun?: boolean;
  /** rules.yaml text; TEST_RULES when omitted. */
  rules?: string;
  config?: Record<string, unknown>;
  env?: Record<string, string>;
  name?: string;
}

/** One `role: all` server (SQLite) remediating on the real cluster as the chart's webhook ServiceAccount. */
export async function startSentinel(env: ClusterEnv, o: SentinelOptions = {}): Promise<ServerProc> {
  const id = await installChartRbac(env);
  const { kubeconfig } = await serviceAccountCredentials(env);
  const rulesFile = join(env.dir, `rules-${Date.now()}.yaml`);
  writeFileSync(rulesFile, o.rules ?? TEST_RULES);
  const [port, admissionPort] = [await freePort(), await freePort()];
  const server = await startServer({
    port,
    config: {
      web: { listen: `127.0.0.1:${port}`, admission_listen: `127.0.0.1:${admissionPort}` },
      rules_file: rulesFile,
      kubernetes: { in_cluster: false, kubeconfig },
      leader_election: { enabled: true, namespace: KS_NAMESPACE, lease_name: id.leaseName, lease_duration: '4s', renew_deadline: '3s', retry_period: '500ms' },
      remediation: { enabled: true, dry_run: o.dryRun ?? false, max_actions_per_hour: 1000, max_attempts: 3 },
      ...o.config,
    },
    env: { POD_NAME: o.name ?? 'ks-test', POD_NAMESPACE: KS_NAMESPACE, ...o.env },
  });
  admissionPorts.set(server, admissionPort);
  // Leadership first: the worker only runs while this replica holds the Lease.
  await waitFor('Kube Sentinel to hold the Lease', async () => {
    const s = await server.client.get('/api/stats', READ_TOKEN);
    return s.body?.leader?.leader?.isLeader === true;
  }, 30_000, 100);
  return server;
}

let alertSeq = 0;

/** An alert naming a pod, with a fresh startsAt so each send is a new occurrence (a new firing). */
export function podAlert(test: string, namespace: string, pod: string, extra: Record<string, string> = {}) {
  const startsAt = new Date(Date.now() - 60_000 + ++alertSeq).toISOString();
  return [{
    labels: { alertname: 'KubePodCrashLooping', ks_test: test, namespace, pod, container: 'app', severity: 'critical', ...extra },
    annotations: { summary: `Pod ${namespace}/${pod} is in CrashLoopBackOff` },
    startsAt,
  }];
}

export interface Audit {
  id: number;
  rule: string;
  action: string;
  namespace: string;
  target: string;
  outcome: string;
  reason: string;
  message: string;
}

/** Audit entries for a namespace, oldest first. */
export async function audits(server: ServerProc, namespace: string): Promise<Audit[]> {
  const r = await server.client.get('/api/history?page_size=500', READ_TOKEN);
  assert.equal(r.status, 200, r.text);
  return (r.body.entries as Audit[]).filter((e) => e.namespace === namespace).sort((a, b) => a.id - b.id);
}

/** What the worker decided about a request (not the later outcome check of an earlier action). */
const DECISIONS = new Set(['acted', 'dry-run', 'skipped', 'failed', 'escalated', 'awaiting-approval']);

/** Posts the alert and waits for the decision it leads to (the first new decision in the audit). */
export async function decide(server: ServerProc, alert: unknown[], namespace: string, timeoutMs = 30_000): Promise<Audit> {
  const seen = new Set((await audits(server, namespace)).map((a) => a.id));
  const r = await server.client.post('/api/v2/alerts', alert);
  assert.equal(r.status, 200, r.text);
  return waitFor(`a remediation decision in ${namespace}`, async () =>
    (await audits(server, namespace)).find((a) => !seen.has(a.id) && DECISIONS.has(a.outcome)) ?? null, timeoutMs, 100);
}
