// The composition root for `kube-sentinel serve`: turns a loaded config into running parts, each
// created once and in dependency order — store, metrics, rules, live feed, leadership, notifications,
// remediation (publishing its audit entries to the feed), the HTTP app, listeners, TLS reloader.
// main.ts owns the process; startup.ts settles tokens, TLS files and the store; this owns the wiring.
import { hostname } from 'node:os';
import { createApp, type App } from './app.ts';
import { connectCluster } from './cluster/connect.ts';
import { storeFeed, type LiveFeed } from './feed.ts';
import { createLeadership } from './leader/index.ts';
import { createRemediation, type Remediation } from './remediate/remediation.ts';
import { createNotifications, webhookPort } from './notify/index.ts';
import type { LoadedConfig } from './config/load.ts';
import { RulesReloader } from './classify/reloader.ts';
import { defaultRulesPath } from './classify/defaults.ts';
import { DEFAULT_VERIFY_MS } from './classify/schema.ts';
import { createDashboardRouter } from './dashboard/router.ts';
import { TokenSet } from './http/auth.ts';
import { createLiveSocket } from './http/live-socket.ts';
import { listen, type ListeningServer } from './http/server.ts';
import type { Logger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';
import type { Store } from './store/types.ts';
import { dataDir, openStore, resolveIngestTokens, resolveTlsFiles, startHousekeeping } from './startup.ts';
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

export interface ServeOptions {
  loaded: LoadedConfig;
  logger: Logger;
  /** POD_NAME / POD_NAMESPACE (downward API) and KUBECONFIG, handed over by main. */
  podName?: string;
  podNamespace?: string;
  kubeconfigEnv?: string;
}

/**
 * One leadership (a Lease, or this replica alone) for the two loops that act only while it leads:
 * notifications (DESIGN §6b) and remediation, whose `webhook` action posts through notifications'
 * transport and whose every audit entry is published on the live feed.
 */
async function leaderLoops(o: { opts: ServeOptions; store: Store; metrics: Metrics; rules: RulesReloader; feed: LiveFeed }) {
  const { opts, store, metrics, rules, feed } = o;
  const { config } = opts.loaded;
  const log = opts.logger;
  const podNamespace = opts.podNamespace ?? null;
  const gateway = await connectCluster({ inCluster: config.kubernetes.in_cluster, kubeconfigPath: config.kubernetes.kubeconfig ?? opts.kubeconfigEnv });
  const leader = createLeadership({
    config: config.leader_election, client: gateway, podName: opts.podName ?? hostname(), podNamespace,
    logger: log.child({ component: 'leader' }),
    metrics: { setLeader: (leading) => metrics.leader.set(leading ? 1 : 0) },
  });
  const notifications = await createNotifications({
    config: config.notifications, externalUrl: config.web.external_url, store, leader,
    logger: log.child({ component: 'notify' }),
    onOutcome: (receiver, outcome, n) => metrics.notifications.inc({ receiver, outcome }, n ?? 1),
  });
  const remediation = createRemediation({
    store, gateway, leader, config, podNamespace, logger: log.child({ component: 'remediation' }),
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
  });
  log.info({ cluster: gateway !== null, identity: remediation.identity, leaderElection: config.leader_election.enabled }, 'remediation configured');
  return { notifications, remediation };
}

export async function serve(opts: ServeOptions): Promise<Running> {
  const { config } = opts.loaded;
  const log = opts.logger;
  const dir = dataDir(config);
  const { tokens, ingestTokenFile } = await resolveIngestTokens(config, opts.loaded.tokens, dir, log);
  const { tlsFiles, caFile } = await resolveTlsFiles(config, dir, log);

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
  const feed = storeFeed(store, log);
  // The leader-only loops; a dashboard replica runs neither.
  const loops = config.role === 'dashboard' ? null : await leaderLoops({ opts, store, metrics, rules, feed });
  const rem = loops?.remediation ?? null;
  const notifications = loops?.notifications ?? null;

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

  const housekeeping = config.role === 'dashboard' ? null : startHousekeeping(store, config.store.retention, log);

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
      housekeeping?.stop();
      await Promise.all([listener.close(), admissionListener?.close()]);
      await tls.stop();
      await app.close();
      rules.stop();
      await store.close();
    },
  };
}
