// The chart's RBAC as the real authorizer sees it, through SelfSubjectAccessReviews made with the
// ServiceAccounts' own TokenRequest tokens: the webhook account may do exactly what
// src/cluster/rbac.ts lists (what the gateway calls), and the dashboard account may write nothing.
import assert from 'node:assert/strict';
import { CLUSTER_RULES, LEASE_RULES } from '../../../src/cluster/rbac.ts';
import { clusterEnv } from './env.ts';
import { KS_NAMESPACE, installChartRbac, serviceAccountCredentials } from './sentinel.ts';

const WRITE_VERBS = ['create', 'update', 'patch', 'delete', 'deletecollection'];
const RESOURCES: Array<[string, string]> = [
  ['', 'pods'], ['', 'events'], ['', 'namespaces'], ['', 'secrets'], ['', 'configmaps'], ['', 'services'],
  ['apps', 'deployments'], ['apps', 'replicasets'], ['apps', 'statefulsets'], ['apps', 'daemonsets'],
  ['coordination.k8s.io', 'leases'], ['rbac.authorization.k8s.io', 'clusterroles'], ['admissionregistration.k8s.io', 'validatingwebhookconfigurations'],
];

describe('cluster: RBAC of the chart\'s ServiceAccounts, by the real authorizer', function () {
  this.timeout(60_000);

  it('the webhook ServiceAccount can make every call the gateway makes, and nothing else of the kind', async () => {
    const env = clusterEnv();
    await installChartRbac(env);
    const cred = await serviceAccountCredentials(env, 'webhook');
    const client = env.cp.admin.withToken(cred.token);
    try {
      for (const rule of CLUSTER_RULES) {
        for (const verb of rule.verbs) {
          assert.equal(await env.scene.can(client, verb, rule.apiGroup, rule.resource, 'any-namespace'), true, `${verb} ${rule.apiGroup}/${rule.resource}`);
        }
      }
      for (const rule of LEASE_RULES) {
        for (const verb of rule.verbs) {
          assert.equal(await env.scene.can(client, verb, rule.apiGroup, rule.resource, KS_NAMESPACE), true, `${verb} leases in ${KS_NAMESPACE}`);
        }
        assert.equal(await env.scene.can(client, 'update', rule.apiGroup, rule.resource, 'other-namespace'), false, 'leases elsewhere');
      }
      const granted = new Set([...CLUSTER_RULES].flatMap((r) => r.verbs.map((v) => `${r.apiGroup}/${r.resource}/${v}`)));
      for (const [group, resource] of RESOURCES) {
        for (const verb of [...WRITE_VERBS, 'get', 'list', 'watch']) {
          if (granted.has(`${group}/${resource}/${verb}`)) continue;
          assert.equal(await env.scene.can(client, verb, group, resource, 'any-namespace'), false, `must not ${verb} ${group}/${resource}`);
        }
      }
    } finally {
      await client.close();
    }
  });

  it('the dashboard ServiceAccount can write nothing anywhere', async () => {
    const env = clusterEnv();
    const cred = await serviceAccountCredentials(env, 'dashboard');
    const client = env.cp.admin.withToken(cred.token);
    try {
      for (const ns of [KS_NAMESPACE, 'default', 'kube-system']) {
        for (const [group, resource] of RESOURCES) {
          for (const verb of WRITE_VERBS) {
            assert.equal(await env.scene.can(client, verb, group, resource, ns), false, `dashboard must not ${verb} ${group}/${resource} in ${ns}`);
          }
        }
      }
      // And the API itself refuses a real write with that token.
      const r = await client.request('POST', `/api/v1/namespaces/${KS_NAMESPACE}/events`, { metadata: { generateName: 'x.' }, involvedObject: { kind: 'Pod', name: 'x', namespace: KS_NAMESPACE }, reason: 'Test', message: 'm' });
      assert.equal(r.status, 403);
    } finally {
      await client.close();
    }
  });
});
