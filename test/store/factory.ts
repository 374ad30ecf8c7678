// Builds complete RecordItems for store tests: every Signal and Classification field is filled, so an
// adapter that drops or mangles a field shows up in the assertions.
import type { Classification, RemediationSpec, Signal } from '../../src/domain/types.ts';
import assert from 'node:assert/strict';
import { AppError } from '../../src/domain/errors.ts';
import type { RecordItem, Store } from '../../src/store/types.ts';

export const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

export interface ItemOverrides {
  fingerprint?: string;
  receivedAt?: number;
  expiresAt?: number;
  workload?: string;
  signal?: Partial<Signal>;
  classification?: Partial<Classification>;
}

export function restartPod(cooldownMs = 5 * MINUTE): RemediationSpec {
  return { action: 'restart-pod', params: { grace: '30' }, cooldownMs };
}

export function makeItem(o: ItemOverrides = {}): RecordItem {
  const receivedAt = o.receivedAt ?? T0;
  const signal: Signal = {
    source: 'alert',
    channel: 'alertmanager',
    title: 'KubePodCrashLooping',
    message: 'Back-off restarting failed container api in pod web-7d4b9c-x2x9z',
    labels: { alertname: 'KubePodCrashLooping', namespace: 'shop', pod: 'web-7d4b9c-x2x9z', severity: 'critical' },
    annotations: { summary: 'Pod is crash looping' },
    namespace: 'shop',
    pod: 'web-7d4b9c-x2x9z',
    container: 'api',
    owner: { kind: 'Deployment', name: 'web' },
    reason: '',
    eventType: '',
    state: 'firing',
    startsAt: receivedAt - MINUTE,
    endsAt: null,
    occurrenceKey: `key-${o.fingerprint ?? 'fp-a'}`,
    occurrenceCount: 1,
    alertFingerprint: '0123456789abcdef',
    generatorUrl: 'http://prometheus:9090/graph',
    ...o.signal,
  };
  const classification: Classification = {
    priority: 'P1',
    rule: 'crashloop-backoff',
    remediation: null,
    reason: { matched: 'crashloop-backoff', tried: [{ rule: 'oom-killed', failed: 'pattern' }] },
    ...o.classification,
  };
  return {
    fingerprint: o.fingerprint ?? 'fp-a',
    signal,
    classification,
    workload: o.workload ?? 'Deployment/web',
    normalizedMessage: signal.message.replace(/[0-9a-f]{5,}/g, '<id>'),
    receivedAt,
    expiresAt: o.expiresAt ?? receivedAt + 5 * MINUTE,
  };
}

export type NamedWrite = [string, () => Promise<unknown>];

/** A read-only store must refuse every write with `read_only_role` (the dashboard role's contract). */
export async function assertRefusesWrites(reader: Store, extra: NamedWrite[] = []): Promise<void> {
  const writes: NamedWrite[] = [
    ['record', () => reader.record([makeItem()])],
    ...extra,
    ['expire', () => reader.expire(T0)],
    ['prune', () => reader.prune(T0)],
    ['claimRequest', () => reader.claimRequest('h', T0, 1)],
    ['claimRequests', () => reader.claimRequests('h', T0, 1, 8)],
    ['finishRequest', () => reader.finishRequest(1, 'h', { state: 'done' })],
    ['appendAudit', () => reader.appendAudit({ requestId: null, groupId: null, at: T0, rule: 'r', action: 'none',
      namespace: '', target: '', outcome: 'skipped', reason: 'x', message: '', actor: 'a', cooldownKey: 'k' })],
    ['finishDecided', () => reader.finishDecided('h', [{ id: 1, audit: { requestId: 1, groupId: null, at: T0, rule: 'r', action: 'none',
      namespace: '', target: '', outcome: 'skipped', reason: 'x', message: '', actor: 'a', cooldownKey: 'k' } }])],
    ['skipAlike', () => reader.skipAlike('h', { like: 1, now: T0, limit: 8, audit: { requestId: 1, groupId: null, at: T0, rule: 'r', action: 'none',
      namespace: '', target: '', outcome: 'skipped', reason: 'x', message: '', actor: 'a', cooldownKey: 'k' } })],
    ['putSettings', () => reader.putSettings({ enabled: true, dryRun: true, maxActionsPerHour: 1 })],
  ];
  for (const [name, write] of writes) {
    await assert.rejects(write(), (err: unknown) => err instanceof AppError && err.code === 'read_only_role', name);
  }
}
