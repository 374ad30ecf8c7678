// The fake API server must behave like the real one where our code depends on it; these tests pin
// that down with raw HTTP, independent of the gateway.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { applyMergePatch } from '../fakes/kube-api-objects.ts';
import { seedDeployment } from '../fakes/kube-api-fixtures.ts';

describe('test/fakes/kube-api (fake Kubernetes API server)', () => {
  let api: FakeKubeApi;
  let base: string;
  beforeEach(async () => {
    api = new FakeKubeApi({ now: () => Date.parse('2024-05-01T10:00:00Z'), podDeletion: 'terminating' });
    base = await api.start();
  });
  afterEach(() => api.stop());

  const req = (method: string, path: string, body?: unknown, contentType = 'application/json') =>
    fetch(base + path, { method, headers: body === undefined ? {} : { 'content-type': contentType }, body: body === undefined ? undefined : JSON.stringify(body) });

  it('answers a missing object with a 404 Status', async () => {
    const r = await req('GET', '/api/v1/namespaces/x/pods/nope');
    assert.equal(r.status, 404);
    const s = await r.json();
    assert.equal(s.kind, 'Status');
    assert.equal(s.reason, 'NotFound');
  });

  it('bumps resourceVersion on every write and rejects a stale PUT with 409', async () => {
    const lease = { metadata: { name: 'l' }, spec: { holderIdentity: 'a', renewTime: '2024-05-01T10:00:00.000000Z' } };
    const created = await (await req('POST', '/apis/coordination.k8s.io/v1/namespaces/ops/leases', lease)).json();
    const put = await req('PUT', '/apis/coordination.k8s.io/v1/namespaces/ops/leases/l', { ...created, spec: { holderIdentity: 'b' } });
    assert.equal(put.status, 200);
    const updated = await put.json();
    assert.ok(Number(updated.metadata.resourceVersion) > Number(created.metadata.resourceVersion));
    const stale = await req('PUT', '/apis/coordination.k8s.io/v1/namespaces/ops/leases/l', { ...created, spec: { holderIdentity: 'c' } });
    assert.equal(stale.status, 409);
    assert.equal((await stale.json()).reason, 'Conflict');
  });

  it('rejects Lease times that are not RFC 3339 with microseconds', async () => {
    const bad = await req('POST', '/apis/coordination.k8s.io/v1/namespaces/ops/leases',
      { metadata: { name: 'l' }, spec: { renewTime: '2024-05-01T10:00:00.123Z' } });
    assert.equal(bad.status, 400);
  });

  it('requires a patch content type (415) and honours a resourceVersion in a merge patch (409)', async () => {
    const { deployment } = seedDeployment(api, 'shop', 'web');
    const path = '/apis/apps/v1/namespaces/shop/deployments/web';
    assert.equal((await req('PATCH', path, { spec: { replicas: 3 } }, 'application/json')).status, 415);
    assert.equal((await req('PATCH', path, { spec: { replicas: 3 } }, 'application/merge-patch+json')).status, 200);
    const stale = await req('PATCH', path, { metadata: { resourceVersion: deployment.metadata.resourceVersion }, spec: { replicas: 1 } }, 'application/merge-patch+json');
    assert.equal(stale.status, 409);
    assert.equal(api.objects.get('deployments', 'shop', 'web').spec.replicas, 3);
  });

  it('lists by label selector', async () => {
    seedDeployment(api, 'shop', 'web', { podCount: 2 });
    seedDeployment(api, 'shop', 'api', { podCount: 3 });
    const l = await (await req('GET', '/api/v1/namespaces/shop/pods?labelSelector=app%3Dapi')).json();
    assert.equal(l.items.length, 3);
    const none = await (await req('GET', '/api/v1/namespaces/shop/pods?labelSelector=app%3Dapi,app!%3Dapi')).json();
    assert.equal(none.items.length, 0);
  });

  it('graceful pod delete leaves it Terminating until now+grace; grace 0 removes it', async () => {
    const { pods } = seedDeployment(api, 'shop', 'web');
    const path = `/api/v1/namespaces/shop/pods/${pods[0].metadata.name}`;
    assert.equal((await req('DELETE', path, { gracePeriodSeconds: 30 })).status, 200);
    const p = api.objects.get('pods', 'shop', pods[0].metadata.name);
    assert.equal(p.metadata.deletionTimestamp, '2024-05-01T10:00:30Z');
    assert.equal(p.metadata.deletionGracePeriodSeconds, 30);
    assert.equal((await req('DELETE', path, { gracePeriodSeconds: 0 })).status, 200);
    assert.equal(api.objects.find('pods', 'shop', pods[0].metadata.name), null);
    assert.deepEqual(api.objects.deletions.map((d) => d.gracePeriodSeconds), [30, 0]);
  });

  it('injects faults and records every request', async () => {
    api.fail({ verb: 'list', resource: 'pods', status: 500, times: 1 });
    assert.equal((await req('GET', '/api/v1/namespaces/shop/pods')).status, 500);
    assert.equal((await req('GET', '/api/v1/namespaces/shop/pods')).status, 200);
    assert.deepEqual(api.requests.map((r) => [r.verb, r.resource, r.status]), [['list', 'pods', 500], ['list', 'pods', 200]]);
  });

  it('applies RFC 7386 merge patches (null deletes, arrays replace)', () => {
    assert.deepEqual(applyMergePatch({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { b: null, c: [3] }, e: 2 }), { a: { c: [3] }, d: 1, e: 2 });
  });

  it('runs as a separate process seeded from a state file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-api-'));
    const state = join(dir, 'state.json');
    writeFileSync(state, JSON.stringify([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }]));
    const child = spawn(process.execPath, ['test/fakes/kube-api-server.ts', '--port', '0', '--state', state], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const [line] = await once(child.stdout, 'data');
      const { url } = JSON.parse(String(line));
      const ns = await (await fetch(`${url}/api/v1/namespaces/shop`)).json();
      assert.equal(ns.metadata.name, 'shop');
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
});
