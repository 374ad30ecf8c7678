// The `webhook` remediation action: through every guard like any action, it POSTs the signal and the
// owner chain read from the API to a signed webhook receiver; 2xx is `acted`, anything else `failed`
// (retried when the receiver may recover). A rule naming no configured receiver fails to load.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientNodeGateway } from '../../src/cluster/gateway.ts';
import { parseRules } from '../../src/classify/load.ts';
import { notificationsSchema } from '../../src/config/notifications.ts';
import { LoadError } from '../../src/domain/errors.ts';
import { webhookPort } from '../../src/notify/index.ts';
import { Transport } from '../../src/notify/transport.ts';
import type { StaticLeadership } from '../../src/leader/elector.ts';
import { RemediationWorker } from '../../src/remediate/worker.ts';
import type { SqliteStore } from '../../src/store/sqlite/store.ts';
import type { FakeKubeApi } from '../fakes/kube-api.ts';
import { seedDeployment } from '../fakes/kube-api-fixtures.ts';
import type { FakeClock } from '../remediate/fake-clock.ts';
import { enqueue } from '../remediate/requests.ts';
import { startReceiver, type Receiver, type Step } from './receiver.ts';
import { remediationWorld } from '../remediate/world.ts';

const SECRET = 'remediation-hook-secret-0123456789';

describe('remediation action: webhook', function () {
  this.timeout(30_000);
  let clock: FakeClock; let api: FakeKubeApi; let kube: ClientNodeGateway; let store: SqliteStore;
  let leader: StaticLeadership; let hook: Receiver; let transport: Transport;

  async function setup(script: Step[]) {
    ({ clock, api, kube, store, leader } = await remediationWorld({ identity: 'pod-a_x' }));
    hook = await startReceiver(script);
    const secret = join(mkdtempSync(join(tmpdir(), 'ks-hook-')), 'secret');
    writeFileSync(secret, SECRET);
    const config = notificationsSchema.parse({ receivers: [{ name: 'fixer', webhook: { url: `${hook.url}/fix`, hmac_secret_file: secret, ca_file: hook.caFile, timeout: '2s' } }] });
    transport = await Transport.create({ receivers: config.receivers });
  }
  afterEach(async () => { await transport?.close(); await hook?.close(); await store?.close(); await api?.stop(); });

  const worker = () => new RemediationWorker({
    store, kube, leader, defaults: { enabled: true, dryRun: true, maxActionsPerHour: 10 },
    excludedNamespaces: ['kube-system'], maxAttempts: 3, clock, random: () => 0.5, backoffBaseMs: 10_000,
    webhook: webhookPort({ transport, store, now: clock.now }),
  });
  const outcomes = async () => (await store.listHistory({ page: 1, pageSize: 100 })).entries.reverse().map((e) => `${e.outcome}:${e.reason}`);

  it('posts the signal and the owner chain, signed; the receiver\'s 2xx is acted', async () => {
    await setup([202]);
    const { pods, deployment } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop' });
    const id = await enqueue(store, { pod: pods[0].metadata.name, action: 'webhook', params: { receiver: 'fixer' }, at: clock.now() });
    await worker().runOnce();
    assert.deepEqual(await outcomes(), ['acted:']);
    assert.equal(hook.received.length, 1);
    const r = hook.received[0];
    const ts = String(r.headers['x-kube-sentinel-timestamp']);
    assert.equal(r.headers['x-kube-sentinel-signature'], `sha256=${createHmac('sha256', SECRET).update(`${ts}.${r.body}`).digest('hex')}`);
    assert.equal(r.headers['x-kube-sentinel-delivery'], `remediation-${id}`);
    const doc = r.json as { kind: string; request: { id: number; rule: string }; signal: { title: string; pod: string }; target: Record<string, any> };
    assert.deepEqual([doc.kind, doc.request.id, doc.request.rule], ['remediation-request', id, 'crashloop']);
    assert.deepEqual([doc.signal.title, doc.signal.pod], ['KubePodCrashLooping', pods[0].metadata.name]);
    assert.equal(doc.target.display, 'Deployment/web');
    assert.deepEqual(doc.target.pod, { kind: 'Pod', name: pods[0].metadata.name, uid: pods[0].metadata.uid });
    assert.equal(doc.target.replicaSet.kind, 'ReplicaSet');
    assert.deepEqual([doc.target.workload.kind, doc.target.workload.uid], ['Deployment', deployment.metadata.uid]);
    assert.equal(api.mutations().filter((m) => !m.path.includes('/events')).length, 0, 'the action itself changes nothing in the cluster');
  });

  it('a 500 is failed and retried with backoff; a 400 is failed for good; dry-run posts nothing', async () => {
    await setup([500, 400]);
    const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop' });
    await enqueue(store, { pod: pods[0].metadata.name, action: 'webhook', params: { receiver: 'fixer' }, at: clock.now() });
    await worker().runOnce();
    assert.deepEqual(await outcomes(), ['failed:webhook-500']);
    clock.set(clock.now() + 60_000);
    await worker().runOnce();
    assert.deepEqual(await outcomes(), ['failed:webhook-500', 'failed:webhook-400']);
    assert.equal(hook.received.length, 2);
    assert.equal(hook.received[0].headers['x-kube-sentinel-delivery'], hook.received[1].headers['x-kube-sentinel-delivery'], 'the retry keeps its delivery id');
    clock.set(clock.now() + 3_600_000);
    assert.equal(await worker().runOnce(), 0, 'a 4xx is not retried');

    await store.putSettings({ enabled: true, dryRun: true, maxActionsPerHour: 100 });
    const other = seedDeployment(api, 'shop', 'api', { podHealth: 'crashloop' });
    await enqueue(store, { pod: other.pods[0].metadata.name, action: 'webhook', params: { receiver: 'fixer' }, at: clock.now() });
    await worker().runOnce();
    assert.equal((await outcomes()).at(-1), 'dry-run:dry-run');
    assert.equal(hook.received.length, 2);
  });

  it('skips a receiver that is not configured, and such a rule fails to load', async () => {
    await setup([]);
    const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop' });
    await enqueue(store, { pod: pods[0].metadata.name, action: 'webhook', params: { receiver: 'nope' }, at: clock.now() });
    await worker().runOnce();
    assert.deepEqual(await outcomes(), ['skipped:unknown-receiver']);
    const yaml = 'rules:\n  - name: fix\n    match: {keywords: [oom]}\n    priority: P2\n    remediation: {action: webhook, params: {receiver: nope}}\n';
    assert.throws(() => parseRules(yaml, 'rules.yaml', { webhookReceivers: ['fixer'] }), (e: unknown) => e instanceof LoadError && /rules\[0\]\.remediation\.params\.receiver: no webhook receiver "nope"/.test(e.message));
    assert.equal(parseRules(yaml.replace('nope', 'fixer'), 'rules.yaml', { webhookReceivers: ['fixer'] }).rules[0].remediation?.action, 'webhook');
    assert.throws(() => parseRules(yaml.replace('params: {receiver: nope}', 'params: {}'), 'rules.yaml'), /params\.receiver/);
  });
});
