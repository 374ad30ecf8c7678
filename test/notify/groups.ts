// A complete stored group for notification tests; every field set, so renderers and routes see real shapes.
import type { ErrorGroup } from '../../src/store/types.ts';

export const T0 = Date.UTC(2026, 0, 1);

export function group(id: number, o: Partial<ErrorGroup> = {}): ErrorGroup {
  return {
    id, fingerprint: `fp-${id}`, alertFingerprint: null, source: 'alert', priority: 'P1', rule: 'crashloop', status: 'firing',
    title: 'KubePodCrashLooping', message: 'Back-off restarting failed container', namespace: 'shop', pod: 'web-1', container: 'api',
    workload: 'Deployment/web', labels: { app: 'web-frontend', severity: 'critical' }, count: 3, firstSeen: new Date(T0).toISOString(),
    lastSeen: new Date(T0).toISOString(), resolvedAt: null, expiresAt: null, remediation: null, ...o,
  };
}
