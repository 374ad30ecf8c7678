// Wires leadership and the worker from config: the one entry point the app calls. With leader
// election enabled (and a cluster), a Lease decides who remediates; otherwise this replica leads alone.
import type { Config } from '../config/schema.ts';
import type { Store } from '../store/types.ts';
import { excludedNamespaces } from './guards.ts';
import type { KubeGateway } from './kube.ts';
import { LeaderElector, StaticLeadership, type Leadership, type LeaderStatus } from './leader.ts';
import { makeIdentity } from './leader-record.ts';
import { realSleep, silentLogger, type Logger, type RemediationMetrics, type Sleep } from './ports.ts';
import type { WebhookPort } from './actions/webhook.ts';
import { RemediationWorker, type RuleLookup } from './worker.ts';

export interface RemediationOptions {
  store: Store;
  gateway: KubeGateway | null;
  config: Pick<Config, 'remediation' | 'leader_election'>;
  /** POD_NAME (hostname outside Kubernetes); a random suffix is added. */
  podName: string;
  /** POD_NAMESPACE: always excluded from remediation, and the default Lease namespace. */
  podNamespace: string | null;
  logger?: Logger;
  metrics?: RemediationMetrics;
  now?: () => number;
  sleep?: Sleep;
  random?: () => number;
  pollIntervalMs?: number;
  /** Current rules' remediation.approval / remediation.verify by rule name (DESIGN §6a). */
  ruleOf?: RuleLookup;
  /** Webhook receivers for the `webhook` action (src/notify/index.ts webhookPort). */
  webhook?: WebhookPort;
}

export interface RemediationStatus {
  cluster: boolean;
  leader: LeaderStatus;
  /** False once this replica lost leadership because it could not renew (for /healthz). */
  healthy: boolean;
}

export interface Remediation {
  readonly identity: string;
  readonly leader: Leadership;
  readonly worker: RemediationWorker;
  start(): void;
  /** Stop the worker first (in-flight work is aborted by the term signal), then release the Lease. */
  stop(): Promise<void>;
  wake(): void;
  status(): RemediationStatus;
}

export function createRemediation(o: RemediationOptions): Remediation {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? realSleep;
  const random = o.random ?? Math.random;
  const logger = o.logger ?? silentLogger;
  const identity = makeIdentity(o.podName, random);
  const le = o.config.leader_election;
  const rem = o.config.remediation;

  let worker: RemediationWorker | null = null;
  if (le.enabled && !o.gateway) logger.warn({}, 'leader_election is enabled but no cluster is configured; this replica leads alone');
  const leader: Leadership = le.enabled && o.gateway
    ? new LeaderElector({
      client: o.gateway, namespace: le.namespace ?? o.podNamespace ?? 'default', name: le.lease_name, identity,
      leaseDurationMs: le.lease_duration, renewDeadlineMs: le.renew_deadline, retryPeriodMs: le.retry_period,
      now, sleep, random, logger, metrics: o.metrics,
      onStartedLeading: () => worker?.wake(),
    })
    : new StaticLeadership({ identity });

  worker = new RemediationWorker({
    store: o.store, kube: o.gateway, leader,
    defaults: { enabled: rem.enabled, dryRun: rem.dry_run, maxActionsPerHour: rem.max_actions_per_hour, requireApproval: false },
    excludedNamespaces: excludedNamespaces(rem.excluded_namespaces, o.podNamespace),
    maxAttempts: rem.max_attempts, now, sleep, random, logger, metrics: o.metrics, pollIntervalMs: o.pollIntervalMs,
    ruleOf: o.ruleOf, approvalTtlMs: rem.approval_ttl, maxIneffective: rem.max_ineffective,
    // The POST is this action's mutating call: it re-checks leadership like every KubeWriter call.
    webhook: o.webhook && {
      ...o.webhook,
      post: (receiver, document, id) => { leader.assertLeading(); return o.webhook!.post(receiver, document, id); },
    },
  });
  const w = worker;

  return {
    identity,
    leader,
    worker: w,
    start() {
      leader.start();
      if (leader instanceof StaticLeadership) o.metrics?.setLeader(true);
      w.start();
    },
    async stop() {
      await w.stop();
      await leader.stop();
      o.metrics?.setLeader(false);
    },
    wake: () => w.wake(),
    status: () => {
      const s = leader.status();
      return { cluster: o.gateway !== null, leader: s, healthy: s.healthy };
    },
  };
}
