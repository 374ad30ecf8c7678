import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { classify, describeRules } from '../../src/classify/classify.ts';
import { defaultRulesPath } from '../../src/classify/defaults.ts';
import { loadRulesFile } from '../../src/classify/load.ts';
import type { CompiledRuleSet } from '../../src/classify/compile.ts';
import type { Signal } from '../../src/domain/types.ts';
import { alertSignal, eventSignal } from './signals.ts';

interface WebhookAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

// Captured from Alertmanager 0.25 (like test/fixtures/alertmanager-webhook.json).
const webhook = JSON.parse(readFileSync(new URL('./fixtures/alertmanager-crashloop.json', import.meta.url), 'utf8')) as {
  alerts: WebhookAlert[];
};

describe('classify: shipped default rules', () => {
  let rules: CompiledRuleSet;
  before(async () => {
    rules = await loadRulesFile(defaultRulesPath());
  });

  const samples: Array<[string, () => Signal, string | null, string]> = [
    ['captured Alertmanager KubePodCrashLooping', () => alertSignal(webhook.alerts[0].labels, webhook.alerts[0].annotations), 'crashloop-backoff', 'P1'],
    ['kubelet BackOff restarting Event', () => eventSignal('BackOff', 'Back-off restarting failed container app in pod web-7d9f8b6c5-x2k4q_default(0c6a…)'), 'crashloop-backoff', 'P1'],
    ['node OOMKilling Event', () => eventSignal('OOMKilling', 'Memory cgroup out of memory: Killed process 4242 (java) total-vm:4191292kB', { pod: '' }), 'oom-killed', 'P1'],
    ['OOMKilled container that also crash-loops', () => alertSignal({ alertname: 'KubePodCrashLooping' }, { description: 'container app last terminated: OOMKilled; CrashLoopBackOff' }), 'oom-killed', 'P1'],
    ['FailedScheduling Event', () => eventSignal('FailedScheduling', '0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient memory. preemption: 0/3 nodes are available.'), 'failed-scheduling', 'P2'],
    ['image pull failure quoting 401 Unauthorized', () => eventSignal('Failed', 'Failed to pull image "registry.example.com/app:v2": rpc error: code = Unknown desc = failed to authorize: 401 Unauthorized'), 'image-pull-error', 'P2'],
    ['BackOff pulling image (same reason as crash loops)', () => eventSignal('BackOff', 'Back-off pulling image "nginx:does-not-exist"'), 'image-pull-error', 'P2'],
    ['ErrImagePull status in an alert', () => alertSignal({ alertname: 'KubeContainerWaiting', severity: 'warning' }, { summary: 'container waiting with reason ErrImagePull' }), 'image-pull-error', 'P2'],
    ['readiness probe refused', () => eventSignal('Unhealthy', 'Readiness probe failed: Get "http://10.1.2.3:8080/ready": dial tcp 10.1.2.3:8080: connect: connection refused'), 'probe-failed', 'P2'],
    ['liveness probe timed out', () => eventSignal('Unhealthy', 'Liveness probe failed: Get "http://10.1.2.3:8080/healthz": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'), 'probe-failed', 'P2'],
    ['Go panic from a Loki ruler alert', () => alertSignal({ alertname: 'GoPanic', namespace: 'shop', pod: 'cart-0' }, { summary: 'panic: runtime error: invalid memory address or nil pointer dereference' }), 'panic', 'P1'],
    ['Evicted Event', () => eventSignal('Evicted', 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 91Mi.'), 'pod-evicted', 'P2'],
    ['NodeHasDiskPressure Event', () => eventSignal('NodeHasDiskPressure', 'Node worker-2 status is now: NodeHasDiskPressure', { namespace: '', pod: '' }), 'node-pressure-event', 'P2'],
    ['KubeNodeNotReady alert', () => alertSignal({ alertname: 'KubeNodeNotReady', severity: 'warning', node: 'worker-2' }, { summary: 'Node is not ready.' }), 'node-pressure', 'P2'],
    ['FailedMount Event', () => eventSignal('FailedMount', 'MountVolume.SetUp failed for volume "config" : configmap "app-config" not found'), 'volume-mount-failed', 'P2'],
    ['RBAC forbidden log line', () => alertSignal({ alertname: 'LogErrors' }, { summary: 'pods is forbidden: User "system:serviceaccount:shop:cart" cannot list resource "pods"' }), 'permission-denied', 'P2'],
    ['connection refused log line', () => alertSignal({ alertname: 'LogErrors' }, { summary: 'dial tcp 10.0.0.5:5432: connect: connection refused' }), 'connection-refused', 'P3'],
    ['timeout log line', () => alertSignal({ alertname: 'LogErrors' }, { summary: 'upstream request timeout' }), 'timeout', 'P3'],
    ['unknown critical alert keeps its urgency', () => alertSignal({ alertname: 'PaymentsDown', severity: 'critical' }, { summary: 'Checkout success rate below 90%' }), 'alert-critical', 'P1'],
    ['unknown warning alert', () => alertSignal({ alertname: 'SlowQueries', severity: 'Warning' }, { summary: 'p99 latency high' }), 'alert-warning', 'P3'],
    ['a Normal Event nobody needs to see', () => eventSignal('Pulled', 'Successfully pulled image "nginx:1.27" in 1.2s', { eventType: 'Normal' }), null, 'P4'],
  ];

  for (const [name, make, rule, priority] of samples) {
    it(`${name} → ${rule ?? 'no rule'} (${priority})`, () => {
      const c = classify(make(), rules);
      assert.equal(c.rule, rule);
      assert.equal(c.priority, priority);
    });
  }

  it('restarts pods only for crash loops; every other default leaves the fix to a human', () => {
    const acting = describeRules(rules).filter((r) => r.action !== 'none');
    assert.deepEqual(acting.map((r) => [r.name, r.action, r.cooldown]), [['crashloop-backoff', 'restart-pod', '10m']]);
    const c = classify(eventSignal('BackOff', 'Back-off restarting failed container app'), rules);
    assert.deepEqual(c.remediation, { action: 'restart-pod', params: {}, cooldownMs: 600_000 });
  });

  it('explains a match by the reason-based rules it skipped', () => {
    const c = classify(eventSignal('BackOff', 'Back-off pulling image "nginx:nope"'), rules);
    assert.deepEqual(c.reason.tried, [
      { rule: 'oom-killed', failed: 'pattern' },
      { rule: 'pod-evicted', failed: 'reasons' },
      { rule: 'node-pressure-event', failed: 'reasons' },
      { rule: 'failed-scheduling', failed: 'reasons' },
      { rule: 'volume-mount-failed', failed: 'reasons' },
    ]);
  });
});
