// Leadership from config: with leader election enabled and a cluster to hold a Lease in, replicas
// campaign for it (elector.ts); otherwise this replica leads alone from start() to stop(). The
// remediation worker and the notifier both act only while it leads.
import type { Config } from '../config/schema.ts';
import { silentLogger, systemClock, type Clock, type Logger } from '../domain/ports.ts';
import { LeaderElector, StaticLeadership, type LeaderMetrics, type Leadership } from './elector.ts';
import type { LeaseClient } from './lease.ts';
import { makeIdentity } from './record.ts';

export { NotLeaderError, type Leadership,  type LeaderStatus } from './elector.ts';

export interface LeadershipOptions {
  config: Config['leader_election'];
  /** null without a cluster: this replica then leads alone. */
  client: LeaseClient | null;
  /** POD_NAME (hostname outside Kubernetes); a random suffix makes the identity. */
  podName: string;
  /** POD_NAMESPACE: the Lease's namespace unless leader_election.namespace says otherwise. */
  podNamespace: string | null;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
  metrics?: LeaderMetrics;
}

export function createLeadership(o: LeadershipOptions): Leadership {
  const random = o.random ?? Math.random;
  const logger = o.logger ?? silentLogger;
  const identity = makeIdentity(o.podName, random);
  const le = o.config;
  if (!le.enabled || !o.client) {
    if (le.enabled) logger.warn({}, 'leader_election is enabled but no cluster is configured; this replica leads alone');
    return new StaticLeadership({ identity, metrics: o.metrics });
  }
  return new LeaderElector({
    client: o.client, namespace: le.namespace ?? o.podNamespace ?? 'default', name: le.lease_name, identity,
    leaseDurationMs: le.lease_duration, renewDeadlineMs: le.renew_deadline, retryPeriodMs: le.retry_period,
    clock: o.clock ?? systemClock, random, logger, metrics: o.metrics,
  });
}
