// Composition root for `kube-sentinel serve`: turns a loaded config into running parts (store, rules,
// TLS, app, listener, housekeeping timers). main.ts owns the process; this owns the wiring.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createApp, type App } from './app.ts';
import type { LoadedConfig } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { RulesReloader } from './classify/reloader.ts';
import { defaultRulesPath } from './classify/defaults.ts';
import { listen, type ListeningServer } from './http/server.ts';
import type { Logger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';
import { SqliteStore } from './store/sqlite/store.ts';
import type { Store } from './store/types.ts';
import { ensureCertificates } from './tls/certs.ts';

export interface Running {
  app: App;
  listener: ListeningServer;
  store: Store;
  rules: RulesReloader;
  ingestTokenFile: string | null;
  caFile: string | null;
  /** SIGTERM path: not ready → wait `delayMs` for endpoints to update → drain → close. */
  shutdown(delayMs: number): Promise<void>;
}

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
  if (config.store.type === 'postgres') {
    void logger;
    throw new Error('store.type postgres is not available in this build yet');
  }
  return new SqliteStore({ path: config.store.path, maxOccurrences: config.store.max_occurrences, readOnly: config.role === 'dashboard' });
}

export async function serve(opts: { loaded: LoadedConfig; logger: Logger; podName?: string }): Promise<Running> {
  const { config } = opts.loaded;
  const log = opts.logger;
  const dir = dataDir(config);
  const tokens = { ...opts.loaded.tokens };
  let ingestTokenFile: string | null = null;
  if (tokens.ingest.length === 0 && config.role !== 'dashboard') {
    const generated = await ensureIngestToken(dir);
    tokens.ingest = [generated.token];
    ingestTokenFile = generated.file;
    log.info({ file: generated.file }, 'no ingest token configured: generated one (senders need it as their bearer token)');
  }

  let tlsFiles: { certFile: string; keyFile: string; clientCaFile?: string };
  let caFile: string | null = null;
  if (config.tls.cert_file && config.tls.key_file) {
    tlsFiles = { certFile: config.tls.cert_file, keyFile: config.tls.key_file, clientCaFile: config.tls.client_ca_file };
  } else if (config.tls.self_signed) {
    const made = await ensureCertificates(join(dir, 'tls'), {
      dnsNames: ['localhost', hostname()], ipAddresses: ['127.0.0.1', '::1'],
    });
    tlsFiles = { certFile: made.certFile, keyFile: made.keyFile, clientCaFile: config.tls.client_ca_file };
    caFile = made.caFile;
    log.info({ ca: made.caFile, created: made.created }, 'using a self-signed certificate; senders must trust this CA');
  } else {
    throw new Error('tls: set cert_file and key_file, or self_signed: true');
  }

  const store = await openStore(config, log);
  if (config.role !== 'dashboard') await store.migrate();

  const metrics = new Metrics({ defaultMetrics: true, groupCounts: () => store.stats(Date.now()) });
  const rules = new RulesReloader({
    file: config.rules_file ?? defaultRulesPath(),
    onReload: (result) => {
      metrics.rulesReloads.inc({ result: result.ok ? 'success' : 'failure' });
      if (result.ok) {
        metrics.rulesLoaded.set(result.ruleSet.rules.length);
        log.info({ rules: result.ruleSet.rules.length }, 'rules loaded');
      } else {
        log.error({ err: result.error.message }, 'rules reload failed; keeping the last good rule set');
      }
    },
  });
  await rules.start();

  const app = createApp(config, {
    store, rules: () => rules.current(), tokens, logger: log, metrics, tlsLoaded: () => true, identity: opts.podName,
  });
  const listener = await listen({ handler: app.handler, tls: tlsFiles, listen: config.web.listen });
  log.info({ url: listener.url, role: config.role, store: config.store.type }, 'kube-sentinel listening');

  // Housekeeping: expire silent firing groups, apply retention. unref: never keeps the process alive.
  const expireTimer = setInterval(() => {
    if (config.role === 'dashboard') return;
    store.expire(Date.now()).catch((err) => log.warn({ err }, 'expiring groups failed'));
  }, 30_000);
  expireTimer.unref();
  const pruneTimer = setInterval(() => {
    if (config.role === 'dashboard') return;
    store.prune(Date.now() - config.store.retention).catch((err) => log.warn({ err }, 'retention prune failed'));
  }, 3_600_000);
  pruneTimer.unref();

  return {
    app, listener, store, rules, ingestTokenFile, caFile,
    async shutdown(delayMs) {
      app.beginTermination();
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      app.beginDrain();
      clearInterval(expireTimer);
      clearInterval(pruneTimer);
      await listener.close();
      await app.close();
      rules.stop();
      await store.close();
    },
  };
}
