// The remediation worker from config, on a Leadership the composition root made (src/leader): the one
// entry point serve.ts calls. The worker acts only while that leadership holds.
import type { Config } from '../config/schema.ts';
import { silentLogger, systemClock, type Clock, type Logger } from '../domain/ports.ts';
import type { Leadership, LeaderStatus } from '../leader/index.ts';
import type { AuditEntry, Store } from '../store/types.ts';
import type { WebhookPort } from './actions/webhook.ts';
import { excludedNamespaces } from './guards.ts';
import type { KubeGateway } from './kube.ts';
import type { RemediationMetrics } from './ports.ts';
import { RemediationWorker, type RuleLookup } from './worker.ts';

export interface RemediationOptions {
  store: Store;
  gateway: KubeGateway | null;
  leader: Leadership;
  config: Pick<Config, 'remediation'>;
  /** POD_NAMESPACE: always excluded from remediation. */
  podNamespace: string | null;
  logger?: Logger;
  metrics?: RemediationMetrics;
  clock?: Clock;
  random?: () => number;
  pollIntervalMs?: number;
  /** Current rules' remediation.approval / remediation.verify by rule name (DESIGN §6a). */
  ruleOf?: RuleLookup;
  /** Webhook receivers for the `webhook` action (src/notify/index.ts webhookPort). */
  webhook?: WebhookPort;
  /** Every audit entry the worker stored (the live feed publishes it). */
  onAudit?: (entry: AuditEntry) => void;
}

interface RemediationStatus {
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
  const { leader } = o;
  const rem = o.config.remediation;
  const worker = new RemediationWorker({
    store: o.store, kube: o.gateway, leader,
    defaults: { enabled: rem.enabled, dryRun: rem.dry_run, maxActionsPerHour: rem.max_actions_per_hour, requireApproval: false },
    excludedNamespaces: excludedNamespaces(rem.excluded_namespaces, o.podNamespace),
    maxAttempts: rem.max_attempts, clock: o.clock ?? systemClock, random: o.random ?? Math.random,
    logger: o.logger ?? silentLogger, metrics: o.metrics, pollIntervalMs: o.pollIntervalMs,
    ruleOf: o.ruleOf, approvalTtlMs: rem.approval_ttl, maxIneffective: rem.max_ineffective, onAudit: o.onAudit,
    // The POST is this action's mutating call: it re-checks leadership like every KubeWriter call.
    webhook: o.webhook && {
      ...o.webhook,
      post: (receiver, document, id) => { leader.assertLeading(); return o.webhook!.post(receiver, document, id); },
    },
  });
  leader.onStartedLeading(() => worker.wake());

  return {
    identity: leader.identity,
    leader,
    worker,
    start() {
      leader.start();
      worker.start();
    },
    async stop() {
      await worker.stop();
      await leader.stop();
    },
    wake: () => worker.wake(),
    status: () => {
      const s = leader.status();
      return { cluster: o.gateway !== null, leader: s, healthy: s.healthy };
    },
  };
}
