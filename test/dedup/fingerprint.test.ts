import assert from 'node:assert/strict';
import { alertIdentity, groupFingerprint } from '../../src/dedup/fingerprint.ts';
import type { Signal } from '../../src/domain/types.ts';
import { parseAlertmanagerWebhook } from '../../src/ingest/alertmanager.ts';
import { parseAlerts } from '../../src/ingest/alerts.ts';
import { parseEvents } from '../../src/ingest/events.ts';
import { fixture } from '../ingest/fixtures.ts';

const NOW = Date.parse('2026-11-21T22:27:45.438Z');

function alert(labels: Record<string, string>, annotations: Record<string, string> = {}): Signal {
  const r = parseAlerts([{ labels, annotations, startsAt: '2026-11-21T22:00:00Z' }], NOW);
  assert.deepEqual(r.issues, []);
  return r.signals[0];
}

function backOff(pod: string, uid: string, over: Record<string, unknown> = {}): Signal {
  const r = parseEvents(
    {
      metadata: { name: `${pod}.17a`, namespace: 'shop', uid },
      involvedObject: { kind: 'Pod', name: pod, namespace: 'shop', fieldPath: 'spec.containers{app}' },
      reason: 'BackOff',
      type: 'Warning',
      message: `Back-off restarting failed container app in pod ${pod}_shop(${uid})`,
      firstTimestamp: '2026-11-21T22:00:00Z',
      ...over,
    },
    NOW,
  );
  assert.deepEqual(r.issues, []);
  return r.signals[0];
}

describe('dedup/fingerprint', () => {
  it('is 32 hex chars and deterministic', () => {
    const s = alert({ alertname: 'X', namespace: 'a' });
    const a = groupFingerprint(s, 'r');
    assert.match(a.fingerprint, /^[0-9a-f]{32}$/);
    assert.deepEqual(groupFingerprint(s, 'r'), a);
  });

  it('keeps stored fingerprints stable: pinned values for each workload shape', () => {
    // Changing the key material would split every stored group in two on upgrade.
    const pod = 'web-7d9f8b6c5-x2k4q';
    const event = parseEvents({
      metadata: { name: `${pod}.17a`, namespace: 'shop', uid: 'u1' },
      involvedObject: { kind: 'Pod', name: pod, namespace: 'shop', fieldPath: 'spec.containers{app}' },
      reason: 'BackOff', type: 'Warning', message: 'Back-off restarting failed container app', firstTimestamp: '2026-11-21T22:00:00Z',
    }, NOW).signals[0];
    const pinned = [
      [groupFingerprint(event, 'crashloop'), 'Deployment/web', 'eb362345fcc7ead18359c84fbe1716cf'],
      [groupFingerprint(alert({ alertname: 'KubePodCrashLooping', namespace: 'shop', pod, container: 'app' }), 'crashloop'), 'Deployment/web', '7fd11505c7c35176ff3f423057b9bf38'],
      [groupFingerprint(alert({ alertname: 'Standalone', namespace: 'dev', pod: 'debug' }), null), 'Pod/debug', 'e51a2c50e235c17bbca25ec48447f3a3'],
      [groupFingerprint(alert({ alertname: 'NoWorkload', namespace: 'dev' }), null), '', 'b2877bd54f52c37d1251981e8602f5ea'],
    ] as const;
    for (const [key, workload, fingerprint] of pinned) assert.deepEqual([key.workload, key.fingerprint], [workload, fingerprint]);
  });

  it('gives the same group to the same alert from Prometheus and from Alertmanager, firing and resolved', () => {
    const fromPrometheus = parseAlerts(fixture('prometheus-v2-alerts.json'), NOW).signals[0];
    const fromAlertmanager = parseAlertmanagerWebhook(fixture('alertmanager-webhook.json'), NOW).signals[0];
    const resolved = parseAlertmanagerWebhook(fixture('alertmanager-webhook-resolved.json'), NOW).signals[0];
    const key = groupFingerprint(fromPrometheus, 'crashloop');
    assert.equal(groupFingerprint(fromAlertmanager, 'crashloop').fingerprint, key.fingerprint);
    assert.equal(groupFingerprint(resolved, 'crashloop').fingerprint, key.fingerprint);
    assert.equal(key.workload, 'Deployment/demo');
    assert.equal(key.normalizedMessage, 'KubePodCrashLooping{severity="critical"}');
  });

  it('groups the same alert from sibling pods of one Deployment', () => {
    const a = alert({ alertname: 'KubePodCrashLooping', namespace: 'shop', pod: 'web-7d9f8b6c5-x2k4q', instance: '10.1.2.3:8080' });
    const b = alert({ alertname: 'KubePodCrashLooping', namespace: 'shop', pod: 'web-7d9f8b6c5-bq7zn', instance: '10.1.2.4:8080' });
    assert.equal(groupFingerprint(a, 'r').fingerprint, groupFingerprint(b, 'r').fingerprint);
  });

  it('does not split an alert whose annotation value changes (short numbers included)', () => {
    const labels = { alertname: 'KubePodCrashLooping', namespace: 'shop', pod: 'web-0' };
    const a = alert(labels, { description: 'restarted 7 times in 10 minutes' });
    const b = alert(labels, { description: 'restarted 9 times in 10 minutes' });
    assert.equal(groupFingerprint(a, 'r').fingerprint, groupFingerprint(b, 'r').fingerprint);
  });

  it('separates alerts that differ in an identity label, alertname, namespace, container or rule', () => {
    const base = { alertname: 'NodeDiskFull', namespace: 'mon', device: 'sda1' };
    const key = groupFingerprint(alert(base), 'disk').fingerprint;
    for (const [labels, rule] of [
      [{ ...base, device: 'sdb1' }, 'disk'],
      [{ ...base, alertname: 'NodeDiskAlmostFull' }, 'disk'],
      [{ ...base, namespace: 'other' }, 'disk'],
      [{ ...base, container: 'exporter' }, 'disk'],
      [base, null],
    ] as Array<[Record<string, string>, string | null]>) {
      assert.notEqual(groupFingerprint(alert(labels), rule).fingerprint, key, JSON.stringify([labels, rule]));
    }
  });

  it('leaves per-replica noise labels out of the alert identity', () => {
    const identity = alertIdentity({
      title: 'X',
      pod: 'web-0',
      labels: { alertname: 'X', pod: 'web-0', pod_ip: '10.0.0.1', uid: 'u', container_id: 'c', prometheus_replica: 'a', zone: 'eu-1', created_by: 'web-0' },
    });
    assert.equal(identity, 'X{created_by="<pod>",zone="eu-1"}');
  });

  it('groups one Event reason across pods of a Deployment and across repeats', () => {
    const a = backOff('web-7d9f8b6c5-x2k4q', '5f2e0c3a-1b2c-4d5e-8f90-123456789abc');
    const b = backOff('web-7d9f8b6c5-bq7zn', '0a1b2c3d-1b2c-4d5e-8f90-abcdefabcdef', { count: 5 });
    const ka = groupFingerprint(a, null);
    assert.equal(groupFingerprint(b, null).fingerprint, ka.fingerprint);
    assert.equal(ka.workload, 'Deployment/web');
    assert.equal(ka.normalizedMessage, 'Warning BackOff: Back-off restarting failed container app in pod <pod>_shop(<uuid>)');
  });

  it('separates Events of different workloads, containers and sources', () => {
    const a = backOff('web-7d9f8b6c5-x2k4q', '5f2e0c3a-1b2c-4d5e-8f90-123456789abc');
    const otherWorkload = backOff('api-7d9f8b6c5-x2k4q', '5f2e0c3a-1b2c-4d5e-8f90-123456789abc');
    const otherContainer = backOff('web-7d9f8b6c5-x2k4q', '5f2e0c3a-1b2c-4d5e-8f90-123456789abc', {
      involvedObject: { kind: 'Pod', name: 'web-7d9f8b6c5-x2k4q', namespace: 'shop', fieldPath: 'spec.containers{sidecar}' },
    });
    const key = groupFingerprint(a, null).fingerprint;
    assert.notEqual(groupFingerprint(otherWorkload, null).fingerprint, key);
    assert.notEqual(groupFingerprint(otherContainer, null).fingerprint, key);
    assert.notEqual(groupFingerprint({ ...a, source: 'alert' }, null).fingerprint, key);
  });

  it('keeps fields apart whatever characters untrusted values contain', () => {
    const a = alert({ alertname: 'X', namespace: 'a', container: 'b"c' });
    const b = alert({ alertname: 'X', namespace: 'a"', container: 'c' });
    assert.notEqual(groupFingerprint(a, null).fingerprint, groupFingerprint(b, null).fingerprint);
  });
});
