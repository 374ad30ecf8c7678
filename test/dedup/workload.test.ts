import assert from 'node:assert/strict';
import { resolveWorkload, type WorkloadBasis } from '../../src/dedup/workload.ts';
import type { WorkloadRef } from '../../src/domain/types.ts';

const TABLE: Array<[string, WorkloadRef | null, string, string, WorkloadBasis]> = [
  // [what, owner, pod, expected display, basis]
  ['Deployment pod (hash + suffix)', null, 'demo-7d9f8b6c5-x2k4q', 'Deployment/demo', 'replicaset-hash'],
  ['Deployment with dashes in its name', null, 'payment-api-v2-5c8d7f9b4-bq7zn', 'Deployment/payment-api-v2', 'replicaset-hash'],
  ['Deployment with a 10-char hash', null, 'web-6b474476c4-2xk9p', 'Deployment/web', 'replicaset-hash'],
  ['StatefulSet pod', null, 'postgres-0', 'StatefulSet/postgres', 'statefulset-ordinal'],
  ['StatefulSet pod, ordinal 12', null, 'kafka-broker-12', 'StatefulSet/kafka-broker', 'statefulset-ordinal'],
  ['owner from the payload wins', { kind: 'DaemonSet', name: 'node-exporter' }, 'node-exporter-x7k2p', 'DaemonSet/node-exporter', 'owner'],
  ['ReplicaSet owner with a pod-template-hash → its Deployment', { kind: 'ReplicaSet', name: 'demo-7d9f8b6c5' }, '', 'Deployment/demo', 'replicaset-hash'],
  ['ReplicaSet owner without a hash stays a ReplicaSet', { kind: 'ReplicaSet', name: 'legacy-rs' }, '', 'ReplicaSet/legacy-rs', 'owner'],
  ['Node owner (cluster-scoped Event)', { kind: 'Node', name: 'worker-1' }, '', 'Node/worker-1', 'owner'],
  // Names that must NOT be shortened:
  ['"api-v2" is a name, not a generated suffix', null, 'api-v2', 'Pod/api-v2', 'pod'],
  ['DaemonSet/Job-style 5-char suffix alone proves no kind', null, 'node-exporter-x7k2p', 'Pod/node-exporter-x7k2p', 'pod'],
  ['suffix with vowels is not generated', null, 'my-app-7d9f8b6c5-abcde', 'Pod/my-app-7d9f8b6c5-abcde', 'pod'],
  ['hash with a vowel is not a pod-template-hash', null, 'my-app-frontend-x2k4q', 'Pod/my-app-frontend-x2k4q', 'pod'],
  ['hash with 0/1/3 (outside the safe alphabet)', null, 'web-7d9f8b6c0-x2k4q', 'Pod/web-7d9f8b6c0-x2k4q', 'pod'],
  ['4-digit suffix is a year, not an ordinal', null, 'report-2024', 'Pod/report-2024', 'pod'],
  ['leading-zero ordinal is not an ordinal', null, 'db-01', 'Pod/db-01', 'pod'],
  ['upper case is not a generated name', null, 'Demo-7d9f8b6c5-x2k4q', 'Pod/Demo-7d9f8b6c5-x2k4q', 'pod'],
  ['bare pod', null, 'debug', 'Pod/debug', 'pod'],
  ['nothing known', null, '', '', 'none'],
  ['owner with an empty name is ignored', { kind: 'Deployment', name: '' }, 'postgres-0', 'StatefulSet/postgres', 'statefulset-ordinal'],
];

describe('dedup/workload', () => {
  for (const [what, owner, pod, display, basis] of TABLE) {
    it(what, () => {
      const w = resolveWorkload(owner, pod);
      assert.equal(w.id, display);
      assert.equal(w.basis, basis);
    });
  }

  it('groups an owner-labelled alert and a name-derived event for the same Deployment', () => {
    assert.equal(resolveWorkload({ kind: 'Deployment', name: 'demo' }, 'demo-7d9f8b6c5-x2k4q').id, resolveWorkload(null, 'demo-7d9f8b6c5-bq7zn').id);
  });

  it('handles absurdly long names without pattern work', () => {
    const long = `${'a'.repeat(300)}-7d9f8b6c5-x2k4q`;
    assert.equal(resolveWorkload(null, long).basis, 'pod');
  });
});
