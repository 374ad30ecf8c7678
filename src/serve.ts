// Composition root for `kube-sentinel serve`: turns a loaded config into running parts (store, rules,
// TLS, app, listener, housekeeping timers). main.ts owns the process; this owns the wiring.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createApp, type App } from './app.ts';
import { createKubeGateway } from './cluster/gateway.ts';
import { LiveFeed } from './feed.ts';
import { createLeadership } from './leader/index.ts';
import { createRemediation, type Remediation } from './remediate/remediation.ts';
import { createNotifications, webhookPort } from './notify/index.ts';
import type { LoadedConfig } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { RulesReloader } from './classify/reloader.ts';
import { defaultRulesPath } from './classify/defaults.ts';
import { DEFAULT_VERIFY_MS } from './classify/schema.ts';
import { createDashboardRouter } from './dashboard/router.ts';
import { TokenSet } from './http/auth.ts';
import { createLiveSocket } from './http/live-socket.ts';
import { listen, type ListeningServer } from './http/server.ts';
import type { Logger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';
import { PostgresStore } from './store/postgres/store.ts';
import { ThreadedSqliteStore } from './store/sqlite/threaded.ts';
import type { Store } from './store/types.ts';
import { ensureCertificates } from './tls/certs.ts';
import { loadTlsPair } from './tls/material.ts';
import { TlsReloader } from './tls/reloader.ts';

export interface Running {
  app: App;
  listener: ListeningServer;
  /** The web.admission_listen listener; null when admission is off. */
  admissionListener: ListeningServer | null;
  store: Store;
  rules: RulesReloader;
  /** Watches the certificate files; main calls reload('sighup') on SIGHUP. */
  tls: TlsReloader;
  remediation: Remediation | null;
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
  const readOnly = config.role === 'dashboard';
  if (config.store.type === 'postgres') {
    // Config loading guarantees a url for postgres. The dashboard may read from a replica, but LISTEN
    // only works on the primary, so change notifications always come from store.url.
    const primary = config.store.url!;
    return new PostgresStore({
      url: readOnly && config.store.read_url ? config.store.read_url : primary,
      listenUrl: primary,
      readOnly,
      maxOccurrences: config.store.max_occurrences,
      logger,
      applicationName: `kube-sentinel ${config.role}`,
    });
  }
  return ThreadedSqliteStore.open({ path: config.store.path, maxOccurrences: config.store.max_occurrences, readOnly });
}

export interface ServeOptions {
  loaded: LoadedConfig;
  logger: Logger;
  /** POD_NAME / POD_NAMESPACE (downward API) and KUBECONFIG, handed over by main. */
  podName?: string;
  podNamespace?: string;
  kubeconfigEnv?: string;
}

export async function serve(opts: ServeOptions): Promise<Running> {
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

  // notAfter of the certificate in service (epoch ms): set once it is loaded and on every reload.
  let certNotAfter: number | null = null;
  const metrics = new Metrics({ defaultMetrics: true, groupCounts: () => store.stats(Date.now()), certificateExpiry: () => certNotAfter,
    storePing: () => store.ping() });
  const rules = new RulesReloader({
    file: config.rules_file ?? defaultRulesPath(),
    // A rule whose `webhook` action names no configured webhook receiver fails the load.
    webhookReceivers: config.notifications.receivers.filter((r) => r.webhook).map((r) => r.name),
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

  // The live feed comes first: remediation publishes every audit entry it stores to it.
  const feed = new LiveFeed({
    loadGroup: (id) => store.getGroup(id, { occurrences: 0 }),
    onError: (err) => log.warn({ err }, 'live feed could not load a group'),
  });
  const remediating = config.role !== 'dashboard';
  const gateway = remediating ? createKubeGateway({
    inCluster: config.kubernetes.in_cluster, kubeconfigPath: config.kubernetes.kubeconfig ?? opts.kubeconfigEnv,
  }) : null;
  // One leadership for the two leader-only loops: remediation and notifications (DESIGN §6b).
  const leader = remediating ? createLeadership({
    config: config.leader_election, client: gateway, podName: opts.podName ?? hostname(), podNamespace: opts.podNamespace ?? null,
    logger: log.child({ component: 'leader' }),
    metrics: { setLeader: (leading) => metrics.leader.set(leading ? 1 : 0) },
  }) : null;
  const notifications = leader ? await createNotifications({
    config: config.notifications, externalUrl: config.web.external_url, store, leader,
    logger: log.child({ component: 'notify' }),
    onOutcome: (receiver, outcome, n) => metrics.notifications.inc({ receiver, outcome }, n ?? 1),
  }) : null;
  const rem = leader && notifications ? createRemediation({
    store, gateway, leader, config, podNamespace: opts.podNamespace ?? null, logger: log.child({ component: 'remediation' }),
    webhook: webhookPort({ transport: notifications.transport, store }),
    onAudit: (entry) => feed.publish({ type: 'remediation', entry }),
    ruleOf: (name) => {
      const spec = rules.current().rules.find((r) => r.name === name)?.spec.remediation;
      return spec ? { approval: spec.approval ?? 'auto', verifyMs: spec.verifyMs ?? DEFAULT_VERIFY_MS } : null;
    },
    metrics: {
      onDecision: (action, outcome, reason) => metrics.remediationDecisions.inc({ action, outcome, reason }),
      onOutcome: (action, outcome) => metrics.remediationOutcomes.inc({ action, outcome }),
    },
  }) : null;
  if (rem) log.info({ cluster: gateway !== null, identity: rem.identity, leaderElection: config.leader_election.enabled }, 'remediation configured');

  const app = createApp(config, {
    store, rules: () => rules.current(), tokens, logger: log, metrics, feed, tlsLoaded: () => true,
    identity: rem?.identity ?? opts.podName,
    dashboard: createDashboardRouter({ basePath: config.web.base_path, role: config.role }),
    remediation: rem && {
      wake: () => rem.wake(),
      status: () => ({ ...rem.status() }),
      healthy: () => rem.status().healthy,
    },
  });
  // Other replicas' commits (PostgreSQL NOTIFY) reach this replica's live feed and wake the leader.
  store.subscribe?.((change) => {
    if (change.remediationQueued) rem?.wake();
    notifications?.wake();
    if (change.groupIds.length > 0) feed.groupsChanged(change.groupIds);
    for (const entry of change.audit ?? []) feed.publish({ type: 'remediation', entry });
    if (change.settings) feed.publish({ type: 'settings', settings: change.settings });
  });
  const live = createLiveSocket({
    feed, readTokens: new TokenSet({ tokens: tokens.read }), adminTokens: new TokenSet({ tokens: tokens.admin }),
    basePath: config.web.base_path, logger: log.child({ component: 'live' }),
  });
  const pair = await loadTlsPair(tlsFiles);
  certNotAfter = Date.parse(pair.validTo);
  const listener = await listen({ handler: app.handler, tls: tlsFiles, pair, logger: log, listen: config.web.listen, onUpgrade: live.onUpgrade });
  log.info({ address: listener.url, role: config.role, store: config.store.type }, 'kube-sentinel listening');
  const admissionListener = app.admissionHandler && config.web.admission_listen
    ? await listen({ handler: app.admissionHandler, tls: tlsFiles, pair, logger: log, listen: config.web.admission_listen })
    : null;
  if (admissionListener) {
    log.info({ address: admissionListener.url, clientCertificate: Boolean(config.tls.client_ca_file) }, 'admission webhook listening');
  }
  const tls = new TlsReloader({
    files: tlsFiles, initial: pair,
    apply: (next) => { listener.useTls(next); admissionListener?.useTls(next); },
    onReload: (r) => {
      metrics.tlsReloads.inc({ result: r.ok ? 'success' : 'failure' });
      if (r.ok) certNotAfter = Date.parse(r.pair.validTo);
      if (!r.ok) log.warn({ trigger: r.trigger, err: r.error, keptSerial: r.pair.serial }, 'certificate reload failed; keeping the certificate in service');
      else log.info({ trigger: r.trigger, changed: r.changed, subject: r.pair.subject, serial: r.pair.serial, validTo: r.pair.validTo }, r.changed ? 'certificate reloaded' : 'certificate unchanged');
    },
  });
  tls.start();
  rem?.start();
  notifications?.start();

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
    app, listener, admissionListener, store, rules, tls, remediation: rem, ingestTokenFile, caFile,
    async shutdown(delayMs) {
      app.beginTermination();
      // Stop remediating and hand the Lease over at once: another replica can lead while we drain.
      await notifications?.stop();
      await rem?.stop();
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      app.beginDrain();
      // Open WebSockets would hold the listener open: close them before it.
      await live.close();
      clearInterval(expireTimer);
      clearInterval(pruneTimer);
      await Promise.all([listener.close(), admissionListener?.close()]);
      await tls.stop();
      await app.close();
      rules.stop();
      await store.close();
    },
  };
}
