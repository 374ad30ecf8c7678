// Receiver payloads under hostile and oversized input: Slack mrkdwn cannot be injected and stays within
// Block Kit's limits, PagerDuty stays within its field limits, Alertmanager label names are ones 0.25
// accepts, and the webhook signature covers the exact bytes sent.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { emptyByPriority, snapshot, type NotificationMessage } from '../../src/notify/message.ts';
import { alertFor, labelName, renderAlertmanager } from '../../src/notify/receivers/alertmanager.ts';
import { renderPagerDuty } from '../../src/notify/receivers/pagerduty.ts';
import { renderSlack } from '../../src/notify/receivers/slack.ts';
import { renderWebhook } from '../../src/notify/receivers/webhook.ts';
import { group } from './groups.ts';

const NOW = Date.UTC(2026, 0, 1);
const HOSTILE = '<!channel> <https://evil.example|click> & '.repeat(200);

function message(n: number, o: Partial<NotificationMessage> = {}): NotificationMessage {
  return {
    version: 1, kind: 'firing', route: 'r', receiver: 'x', at: new Date(NOW).toISOString(), suppressed: 0,
    suppressedByPriority: emptyByPriority(), repeatMs: 4 * 3_600_000,
    groups: Array.from({ length: n }, (_, i) => snapshot(group(i + 1, { message: HOSTILE, title: `T${'x'.repeat(300)}`, labels: { 'service.name': 'web', '9lives': 'y', __meta_x: 'z', empty: '' } }), { reason: 'new' }, 'https://ks.example')),
    ...o,
  };
}

describe('notifications: receiver payloads', () => {
  it('Slack: log text cannot mention @channel or inject links; at most 50 blocks, header ≤ 150, sections ≤ 3000', () => {
    const [req] = renderSlack(message(30, { suppressed: 970, suppressedByPriority: { P1: 10, P2: 0, P3: 960, P4: 0 } }), { slackUrl: 'https://hooks.slack.test/x' });
    const body = JSON.parse(req.body) as { text: string; blocks: Array<{ type: string; text?: { text: string }; fields?: Array<{ text: string }> }> };
    assert.ok(body.blocks.length <= 50, `${body.blocks.length} blocks`);
    assert.ok(body.blocks[0].text!.text.length <= 150);
    for (const b of body.blocks) {
      if (b.text) assert.ok(b.text.text.length <= 3000);
      for (const f of b.fields ?? []) assert.ok(f.text.length <= 2000);
    }
    const all = JSON.stringify(body.blocks);
    assert.ok(!all.includes('<!channel>') && !all.includes('<https://evil'), 'escaped');
    assert.match(all, /&lt;!channel&gt;/);
    assert.match(all, /and 985 more groups/, '15 not shown (block budget) + 970 rate-limited');
    assert.match(all, /10× P1, 960× P3/);
  });

  it('PagerDuty: summary ≤ 1024, source ≤ 255, severity by priority, a summary event for what the rate limit left out', () => {
    const reqs = renderPagerDuty(message(2, { suppressed: 5, suppressedByPriority: { P1: 5, P2: 0, P3: 0, P4: 0 } }), { routingKey: 'k'.repeat(32) }, 'https://events.pd.test/v2/enqueue');
    assert.equal(reqs.length, 3);
    const [a, , summary] = reqs.map((r) => JSON.parse(r.body));
    assert.ok(a.payload.summary.length <= 1024);
    assert.ok(a.payload.source.length <= 255);
    assert.deepEqual([a.event_action, a.dedup_key, a.payload.severity], ['trigger', 'fp-1', 'critical']);
    assert.deepEqual([summary.dedup_key, summary.payload.severity], ['kube-sentinel-rate-limit-r', 'critical']);
    const resolved = renderPagerDuty(message(1, { kind: 'resolved' }), { routingKey: 'k' }, 'u').map((r) => JSON.parse(r.body));
    assert.deepEqual(resolved, [{ routing_key: 'k', event_action: 'resolve', dedup_key: 'fp-1' }]);
  });

  it('Alertmanager: label names 0.25 accepts, empty values and __ labels dropped, our labels win, endsAt on resolve', () => {
    assert.deepEqual([labelName('service.name'), labelName('9lives'), labelName('ok_1')], ['service_name', '_9lives', 'ok_1']);
    const m = message(1);
    const a = alertFor({ ...m.groups[0], labels: { ...m.groups[0].labels, priority: 'fake', source: 'someone' } }, m, NOW) as { labels: Record<string, string>; endsAt: string };
    assert.deepEqual(Object.keys(a.labels).sort(), ['_9lives', 'alertname', 'namespace', 'priority', 'rule', 'service_name', 'source', 'workload']);
    assert.deepEqual([a.labels.priority, a.labels.source], ['P1', 'kube-sentinel']);
    assert.equal(a.endsAt, new Date(NOW + 4 * 3_600_000 + 600_000).toISOString());
    const [req] = renderAlertmanager({ ...m, kind: 'resolved', groups: [{ ...m.groups[0], status: 'resolved', resolvedAt: new Date(NOW - 5000).toISOString() }] }, { bearerToken: 't0k3n-value' }, 'https://am.test/', NOW);
    assert.equal(req.url, 'https://am.test/api/v2/alerts');
    assert.equal(req.headers.authorization, 'Bearer t0k3n-value');
    assert.equal(JSON.parse(req.body)[0].endsAt, new Date(NOW - 5000).toISOString());
  });

  it('webhook: the signature covers exactly the bytes sent; no secret, no signature header', () => {
    const [req] = renderWebhook(message(1), { hmacSecret: 's3cret-value' }, 'https://hook.test', { deliveryId: 7, now: NOW });
    const ts = String(NOW / 1000);
    assert.equal(req.headers['x-kube-sentinel-timestamp'], ts);
    assert.equal(req.headers['x-kube-sentinel-signature'], `sha256=${createHmac('sha256', 's3cret-value').update(`${ts}.${req.body}`).digest('hex')}`);
    assert.equal(JSON.parse(req.body).deliveryId, 'notification-7');
    const tampered = req.body.replace('"firing"', '"resolved"');
    assert.notEqual(req.headers['x-kube-sentinel-signature'], `sha256=${createHmac('sha256', 's3cret-value').update(`${ts}.${tampered}`).digest('hex')}`);
    const [unsigned] = renderWebhook(message(1), {}, 'https://hook.test', { deliveryId: 7, now: NOW });
    assert.equal(unsigned.headers['x-kube-sentinel-signature'], undefined);
  });
});
