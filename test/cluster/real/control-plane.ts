// A real Kubernetes control plane for the cluster suites: etcd, kube-apiserver and
// kube-controller-manager built from the Go module proxy (test/cluster/build-control-plane.sh), run on
// loopback inside the loopback-only network namespace test/run.ts creates. No kubelet and no scheduler:
// pods are bound and given a status through the API (see objects.ts).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ensureCertificates } from '../../../src/tls/certs.ts';
import { freePort, start, waitFor, type Proc } from '../../support/proc.ts';
import { KubeClient } from './kube-client.ts';

export const K8S_VERSION = 'v1.36.3';
const ETCD_VERSION = 'v3.6.17';
const CACHE = process.env.KS_CACHE ?? join(homedir(), '.cache', 'kube-sentinel');

const BINARIES = {
  etcd: join(CACHE, `etcd-${ETCD_VERSION}`, 'etcd'),
  apiserver: join(CACHE, `kubernetes-${K8S_VERSION}`, 'kube-apiserver'),
  controllerManager: join(CACHE, `kubernetes-${K8S_VERSION}`, 'kube-controller-manager'),
} as const;

export const binariesPresent = (): boolean => Object.values(BINARIES).every((b) => existsSync(b));

/** The controllers a cluster without kubelets needs for Deployments, StatefulSets, DaemonSets, GC and tokens. */
const CONTROLLERS = [
  'deployment-controller', 'replicaset-controller', 'statefulset-controller', 'daemonset-controller',
  'garbage-collector-controller', 'namespace-controller', 'serviceaccount-controller', 'serviceaccount-token-controller',
  'clusterrole-aggregation-controller', 'disruption-controller',
];

export interface ControlPlane {
  url: string;
  /** PEM of the CA that signed the apiserver's serving certificate. */
  ca: string;
  caFile: string;
  /** A kubeconfig for `admin` (system:masters). */
  adminKubeconfig: string;
  admin: KubeClient;
  dir: string;
  /** Seconds from the first process started to the apiserver answering /readyz. */
  startSeconds: number;
  /** Every write the apiserver admitted or refused, from its audit log (Metadata level, oldest first). */
  writes(): AuditRecord[];
  /** Every call made by a ServiceAccount, reads included. */
  calls(): AuditRecord[];
  /** A kubeconfig file for a bearer token (e.g. a TokenRequest token of a ServiceAccount). */
  kubeconfigFor(name: string, token: string): string;
  stop(): Promise<void>;
}

interface AuditRecord {
  verb: string;
  requestURI: string;
  username: string;
  /** `JTI=…` of a TokenRequest token: tells apart callers that share one ServiceAccount. */
  credentialId: string;
  code: number;
  /** When the apiserver received the request (ms). */
  at: number;
  objectRef: { resource?: string; namespace?: string; name?: string; subresource?: string };
}

/** Once per request (at ResponseComplete): what the suites ask "who called what, when". */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
  # Every call a ServiceAccount makes (Kube Sentinel runs as one), and everyone's writes.
  - level: Metadata
    userGroups: [system:serviceaccounts]
  - level: Metadata
    verbs: [create, update, patch, delete, deletecollection]
  - level: None
`;

/** The jti claim of a ServiceAccount token, as the audit log's credential id shows it. */
export function credentialId(token: string): string {
  const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
  return `JTI=${payload.jti}`;
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

function readAudit(file: string): AuditRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => {
    const e = JSON.parse(line);
    return {
      verb: e.verb, requestURI: e.requestURI, username: e.user?.username ?? '',
      credentialId: e.user?.extra?.['authentication.kubernetes.io/credential-id']?.[0] ?? '',
      code: e.responseStatus?.code ?? 0, at: Date.parse(e.requestReceivedTimestamp), objectRef: e.objectRef ?? {},
    };
  });
}

function kubeconfig(opts: { url: string; caFile: string; user: string; token: string }): Record<string, unknown> {
  return {
    apiVersion: 'v1', kind: 'Config', 'current-context': opts.user,
    clusters: [{ name: 'real', cluster: { server: opts.url, 'certificate-authority': opts.caFile } }],
    users: [{ name: opts.user, user: { token: opts.token } }],
    contexts: [{ name: opts.user, context: { cluster: 'real', user: opts.user } }],
  };
}

export async function startControlPlane(dir: string): Promise<ControlPlane> {
  const began = performance.now();
  mkdirSync(dir, { recursive: true });
  const pki = await ensureCertificates(join(dir, 'pki'), {
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'], ipAddresses: ['127.0.0.1', '10.96.0.1'],
  });
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saKey = join(dir, 'sa.key');
  const saPub = join(dir, 'sa.pub');
  writeFileSync(saKey, sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(saPub, sa.publicKey.export({ type: 'spki', format: 'pem' }));
  const adminToken = randomBytes(24).toString('hex');
  const auditPolicy = join(dir, 'audit-policy.yaml');
  const auditLog = join(dir, 'audit.log');
  writeFileSync(auditPolicy, AUDIT_POLICY);
  const tokens = join(dir, 'tokens.csv');
  writeFileSync(tokens, `${adminToken},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });

  const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
  const procs: Proc[] = [];
  const stop = async () => {
    for (const p of procs.reverse()) {
      p.child.kill('SIGTERM');
      const killer = setTimeout(() => p.child.kill('SIGKILL'), 5_000);
      await p.exited;
      clearTimeout(killer);
    }
  };
  try {
    const etcd = start(BINARIES.etcd, [
      '--name=default', `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`, `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`, '--unsafe-no-fsync', '--log-level=warn',
    ]);
    procs.push(etcd);
    const url = `https://127.0.0.1:${apiPort}`;
    const apiserver = start(BINARIES.apiserver, [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${apiPort}`,
      `--tls-cert-file=${pki.certFile}`, `--tls-private-key-file=${pki.keyFile}`,
      `--token-auth-file=${tokens}`, '--authorization-mode=RBAC', '--anonymous-auth=false',
      `--service-account-issuer=https://kubernetes.default.svc`, `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`, '--api-audiences=https://kubernetes.default.svc',
      '--service-cluster-ip-range=10.96.0.0/16', '--endpoint-reconciler-type=none',
      '--enable-priority-and-fairness=false', '--profiling=false', '-v=0',
      `--audit-policy-file=${auditPolicy}`, `--audit-log-path=${auditLog}`, '--audit-log-mode=blocking', '--audit-log-format=json',
    ]);
    procs.push(apiserver);
    const caFile = pki.caFile;
    const ca = readFileSync(caFile, 'utf8');
    const admin = new KubeClient({ url, ca, token: adminToken });
    await waitFor('kube-apiserver /readyz', async () => {
      for (const p of procs) if (p.child.exitCode !== null) throw new Error(`control plane process exited:\n${p.output().slice(-4000)}`);
      const r = await admin.request('GET', '/readyz').catch(() => null);
      return r !== null && r.status === 200;
    }, 60_000, 100);
    const startSeconds = (performance.now() - began) / 1000;

    const adminKubeconfig = join(dir, 'admin.kubeconfig');
    writeFileSync(adminKubeconfig, stringify(kubeconfig({ url, caFile, user: 'admin', token: adminToken })), { mode: 0o600 });
    const cm = start(BINARIES.controllerManager, [
      `--kubeconfig=${adminKubeconfig}`, `--authentication-kubeconfig=${adminKubeconfig}`, `--authorization-kubeconfig=${adminKubeconfig}`,
      `--controllers=${CONTROLLERS.join(',')}`, '--use-service-account-credentials=true',
      `--service-account-private-key-file=${saKey}`, `--root-ca-file=${caFile}`,
      '--leader-elect=false', '--bind-address=127.0.0.1', `--secure-port=${await freePort()}`,
      '--concurrent-deployment-syncs=2', '--concurrent-replicaset-syncs=2', '-v=0',
    ]);
    procs.push(cm);
    // The controller manager is useful once its service accounts exist (it creates them at start).
    await waitFor('kube-controller-manager service accounts', async () => {
      if (cm.child.exitCode !== null) throw new Error(`kube-controller-manager exited:\n${cm.output().slice(-4000)}`);
      const r = await admin.request('GET', '/api/v1/namespaces/kube-system/serviceaccounts/replicaset-controller');
      return r.status === 200;
    }, 60_000, 200);

    return {
      url, ca, caFile, adminKubeconfig, admin, dir, startSeconds, stop,
      writes: () => readAudit(auditLog).filter((r) => WRITE_VERBS.has(r.verb)),
      calls: () => readAudit(auditLog),
      kubeconfigFor(name: string, token: string) {
        const file = join(dir, `kubeconfig-${name}`);
        writeFileSync(file, stringify(kubeconfig({ url, caFile, user: name, token })), { mode: 0o600 });
        return file;
      },
    };
  } catch (err) {
    const logs = procs.map((p) => p.output().slice(-3000)).join('\n---\n');
    await stop();
    throw new Error(`${(err as Error).message}\n--- control plane output ---\n${logs}`);
  }
}
