// Development/test PKI: a self-signed CA and a serving certificate it signs. Used by
// `kube-sentinel certs`, by zero-config `serve` and by the tests, so all three exercise one path.
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface Pem {
  cert: string;
  key: string;
}

interface ServingCertOptions {
  ca: Pem;
  /** DNS SANs; the first is also the common name. */
  dnsNames: string[];
  ipAddresses?: string[];
  days?: number;
  now?: Date;
}

const DAY_MS = 86_400_000;

function validity(now: Date, days: number): { notBeforeDate: Date; notAfterDate: Date } {
  // Backdate a little: clocks across a cluster are never exactly in step.
  return { notBeforeDate: new Date(now.getTime() - 3_600_000), notAfterDate: new Date(now.getTime() + days * DAY_MS) };
}

export async function generateCa(opts: { commonName?: string; days?: number; now?: Date } = {}): Promise<Pem> {
  const now = opts.now ?? new Date();
  const pems = await generate([{ name: 'commonName', value: opts.commonName ?? 'Kube Sentinel Dev CA' }], {
    ...validity(now, opts.days ?? 3650),
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

async function generateServingCert(opts: ServingCertOptions): Promise<Pem> {
  const now = opts.now ?? new Date();
  const altNames = [
    ...opts.dnsNames.map((value) => ({ type: 2 as const, value })),
    ...(opts.ipAddresses ?? []).map((ip) => ({ type: 7 as const, ip })),
  ];
  const pems = await generate([{ name: 'commonName', value: opts.dnsNames[0] ?? 'kube-sentinel' }], {
    ...validity(now, opts.days ?? 825),
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    ca: opts.ca,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** DNS names a Service gets inside a cluster, for `--service/--namespace`. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

export interface TlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

function tlsFilesIn(dir: string): TlsFiles {
  return { caFile: join(dir, 'ca.crt'), certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') };
}

async function readIfPresent(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** True when the certificate is valid for at least `marginDays` more and covers every name asked for. */
function stillUsable(certPem: string, dnsNames: string[], ips: string[], now: Date, marginDays = 30): boolean {
  const x = new X509Certificate(certPem);
  if (new Date(x.validTo).getTime() - now.getTime() < marginDays * DAY_MS) return false;
  const san = x.subjectAltName ?? '';
  return dnsNames.every((d) => san.includes(`DNS:${d}`)) && ips.every((ip) => san.includes(`IP Address:${ip}`));
}

/**
 * Write a CA + serving certificate into `dir` (ca.crt, ca.key, tls.crt, tls.key), reusing what is
 * there while it is still valid, so restarts keep the CA that senders were configured to trust.
 */
export async function ensureCertificates(dir: string, names: { dnsNames: string[]; ipAddresses: string[] }, now = new Date()):
Promise<TlsFiles & { created: boolean }> {
  const files = tlsFilesIn(dir);
  const caKeyFile = join(dir, 'ca.key');
  const [caCert, caKey, cert, key] = await Promise.all(
    [files.caFile, caKeyFile, files.certFile, files.keyFile].map(readIfPresent));
  if (caCert && caKey && cert && key && stillUsable(cert, names.dnsNames, names.ipAddresses, now)) {
    return { ...files, created: false };
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = caCert && caKey && stillUsable(caCert, [], [], now, 90) ? { cert: caCert, key: caKey } : await generateCa({ now });
  const serving = await generateServingCert({ ca, dnsNames: names.dnsNames, ipAddresses: names.ipAddresses, now });
  await writeFile(caKeyFile, `${ca.key.trim()}\n`, { mode: 0o600 });
  await writeFile(files.caFile, `${ca.cert.trim()}\n`, { mode: 0o644 });
  await writeFile(files.keyFile, `${serving.key.trim()}\n`, { mode: 0o600 });
  // A chain file: the serving certificate, then its issuer.
  await writeFile(files.certFile, `${serving.cert.trim()}\n${ca.cert.trim()}\n`, { mode: 0o644 });
  return { ...files, created: true };
}
