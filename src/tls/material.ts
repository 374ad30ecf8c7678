// The TLS policy every listener uses, and loading a certificate/key pair that is known to work before
// it is put in service (a rotation caught half-written must never replace a working pair).
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions } from 'node:tls';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  clientCaFile?: string;
}

export interface TlsPair {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  /** Identifies the content, so a reload that finds the same files changes nothing. */
  digest: string;
  /** Leaf certificate facts for the log line. */
  subject: string;
  validTo: string;
  serial: string;
}

// TLS 1.2 with forward-secret AEAD suites only (no CBC: Lucky13/padding-oracle class), plus TLS 1.3's
// suites, which are all AEAD. TLS 1.0/1.1 are refused by minVersion.
export const TLS12_AEAD_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
];
const TLS13_CIPHERS = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

const TLS_POLICY = {
  minVersion: 'TLSv1.2',
  ciphers: [...TLS13_CIPHERS, ...TLS12_AEAD_CIPHERS].join(':'),
  honorCipherOrder: true,
} as const satisfies SecureContextOptions;

/** Options for createServer / setSecureContext: the pair plus the policy (a context replaces both). */
export function secureContextOptions(pair: TlsPair): SecureContextOptions {
  return { cert: pair.cert, key: pair.key, ...(pair.ca ? { ca: pair.ca } : {}), ...TLS_POLICY };
}

class TlsLoadError extends Error {}

/** Read and check a pair: both parse, the key belongs to the leaf certificate, OpenSSL accepts them. */
export async function loadTlsPair(files: TlsFiles): Promise<TlsPair> {
  let cert: Buffer;
  let key: Buffer;
  let ca: Buffer | undefined;
  try {
    [cert, key, ca] = await Promise.all([
      readFile(files.certFile), readFile(files.keyFile), files.clientCaFile ? readFile(files.clientCaFile) : undefined,
    ]);
  } catch (err) {
    throw new TlsLoadError(`cannot read TLS files: ${(err as Error).message}`);
  }
  return checkTlsPair(cert, key, ca);
}

function checkTlsPair(cert: Buffer, key: Buffer, ca?: Buffer): TlsPair {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw new TlsLoadError(`certificate does not parse: ${(err as Error).message}`);
  }
  try {
    if (!leaf.checkPrivateKey(createPrivateKey(key))) throw new TlsLoadError('the key does not match the certificate');
    createSecureContext({ cert, key, ...(ca ? { ca } : {}), ...TLS_POLICY });
  } catch (err) {
    if (err instanceof TlsLoadError) throw err;
    throw new TlsLoadError(`certificate and key are not usable: ${(err as Error).message}`);
  }
  const digest = createHash('sha256').update(cert).update('\0').update(key).update('\0').update(ca ?? '').digest('hex');
  return { cert, key, ca, digest, subject: leaf.subject, validTo: leaf.validTo, serial: leaf.serialNumber };
}
