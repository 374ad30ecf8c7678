// What `serve` settles before it wires anything: where data lives, the ingest token (generated when
// none is configured), the TLS files (generated when self_signed), the store, and the housekeeping
// timers. serve.ts, the composition root, calls these in order.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { LoadedConfig } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { notifiesAnyone } from './config/notifications.ts';
import type { Logger } from './domain/ports.ts';
import type { TlsMaterial } from './http/server.ts';
import { PostgresStore } from './store/postgres/store.ts';
import { ThreadedPostgresStore } from './store/postgres/threaded.ts';
import { ThreadedSqliteStore } from './store/sqlite/threaded.ts';
import type { Store } from './store/types.ts';
import { ensureCertificates } from './tls/certs.ts';

export function dataDir(config: Config): string {
  return config.store.type === 'sqlite' ? dirname(resolve(config.store.path)) : resolve('./data');
}

/** Ingest must never run open: with no token configured, generate one (kept across restarts). */
async function ensureIngestToken(dir: string): Promise<{ token: string; file: string }> {
  const file = join(dir, 'ingest-token');
  try {
    const token = (await readFile(file, 'utf8')).trim();
    if (token.length >= 16) return { token, file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(24).toString('base64url');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return { token, file };
}

export async function openStore(config: Config, logger: Logger): Promise<Store> {
  const readOnly = config.role === 'dashboard';
  // No receiver: an outbox event could never be delivered, so ingest does not write one.
  const notifyOnIngest = notifiesAnyone(config.notifications);
  if (config.store.type === 'postgres') {
    // Config loading guarantees a url for postgres. The dashboard may read from a replica, but LISTEN
    // only works on the primary, so change notifications always come from store.url.
    const primary = config.store.url!;
    const options = {
      url: readOnly && config.store.read_url ? config.store.read_url : primary,
      listenUrl: primary,
      readOnly,
      maxOccurrences: config.store.max_occurrences,
      logger,
      applicationName: `kube-sentinel ${config.role}`,
      notifyOnIngest,
    };
    // Ingest replicas run the store on its own thread: pg's CPU leaves the thread that parses HTTP
    // (issue #12). The dashboard ingests nothing, so there a thread frees nothing, and every answer
    // crosses it (a 50-group page: p50 1.0–1.3 ms in the thread that serves HTTP, 2.5–2.8 ms through
    // a store thread; docs/benchmarks.md, sixteenth round).
    return readOnly ? new PostgresStore(options) : ThreadedPostgresStore.open(options);
  }
  return ThreadedSqliteStore.open({ path: config.store.path, maxOccurrences: config.store.max_occurrences, readOnly, notifyOnIngest });
}

type Tokens = LoadedConfig['tokens'];

/** Ingest never runs open: a webhook role with no ingest token gets a generated one (file returned). */
export async function resolveIngestTokens(config: Config, configured: Tokens, dir: string, log: Logger): Promise<{ tokens: Tokens; ingestTokenFile: string | null }> {
  if (configured.ingest.length > 0 || config.role === 'dashboard') return { tokens: configured, ingestTokenFile: null };
  const generated = await ensureIngestToken(dir);
  log.info({ file: generated.file }, 'no ingest token configured: generated one (senders need it as their bearer token)');
  return { tokens: { ...configured, ingest: [generated.token] }, ingestTokenFile: generated.file };
}

/** The configured certificate files, or a generated dev CA + certificate when tls.self_signed. */
export async function resolveTlsFiles(config: Config, dir: string, log: Logger): Promise<{ tlsFiles: TlsMaterial; caFile: string | null }> {
  const clientCaFile = config.tls.client_ca_file;
  if (config.tls.cert_file && config.tls.key_file) {
    return { tlsFiles: { certFile: config.tls.cert_file, keyFile: config.tls.key_file, clientCaFile }, caFile: null };
  }
  if (!config.tls.self_signed) throw new Error('tls: set cert_file and key_file, or self_signed: true');
  const made = await ensureCertificates(join(dir, 'tls'), { dnsNames: ['localhost', hostname()], ipAddresses: ['127.0.0.1', '::1'] });
  log.info({ ca: made.caFile, created: made.created }, 'using a self-signed certificate; senders must trust this CA');
  return { tlsFiles: { certFile: made.certFile, keyFile: made.keyFile, clientCaFile }, caFile: made.caFile };
}

/** Expire silent firing groups every 30 s and apply retention hourly. unref: never keeps the process alive. */
export function startHousekeeping(store: Store, retentionMs: number, log: Logger): { stop(): void } {
  const expire = setInterval(() => {
    store.expire(Date.now()).catch((err) => log.warn({ err }, 'expiring groups failed'));
  }, 30_000);
  const prune = setInterval(() => {
    store.prune(Date.now() - retentionMs).catch((err) => log.warn({ err }, 'retention prune failed'));
  }, 3_600_000);
  expire.unref();
  prune.unref();
  return { stop: () => { clearInterval(expire); clearInterval(prune); } };
}
