import assert from 'node:assert/strict';
import { labelsFingerprint } from '../../src/dedup/labels-fingerprint.ts';
import { parseAlertmanagerWebhook } from '../../src/ingest/alertmanager.ts';
import { parseAlerts } from '../../src/ingest/alerts.ts';
import { CAPTURED_AT, fixture } from './fixtures.ts';

type Webhook = { alerts: Array<Record<string, unknown>> } & Record<string, unknown>;
const webhook = (name: 'alertmanager-webhook.json' | 'alertmanager-webhook-resolved.json') => fixture(name) as Webhook;

describe('ingest/alertmanager (webhook payload version 4)', () => {
  it('reads the captured firing payload; the "0001-01-01" endsAt means no end', () => {
    const r = parseAlertmanagerWebhook(webhook('alertmanager-webhook.json'), CAPTURED_AT);
    assert.deepEqual(r.issues, []);
    assert.equal(r.total, 1);
    const [s] = r.signals;
    assert.equal(s.state, 'firing');
    assert.equal(s.channel, 'alertmanager');
    assert.equal(s.endsAt, null);
    assert.equal(s.startsAt, Date.parse('2026-11-21T22:27:44.426Z'));
    assert.equal(s.labels.severity, 'critical');
    assert.equal(s.annotations.summary, 'Pod default/demo-7d9f8b6c5-x2k4q (container app) is in CrashLoopBackOff');
  });

  it('computes the same label fingerprint Alertmanager sent', () => {
    for (const name of ['alertmanager-webhook.json', 'alertmanager-webhook-resolved.json'] as const) {
      const body = webhook(name);
      const [s] = parseAlertmanagerWebhook(body, CAPTURED_AT).signals;
      assert.equal(body.alerts[0].fingerprint, 'e6d7d72be312c821');
      assert.equal(s.alertFingerprint, body.alerts[0].fingerprint);
      assert.equal(labelsFingerprint(s.labels), body.alerts[0].fingerprint);
    }
  });

  it('reads the captured resolved payload by its status, whatever the clock says', () => {
    const [s] = parseAlertmanagerWebhook(webhook('alertmanager-webhook-resolved.json'), CAPTURED_AT).signals;
    assert.equal(s.state, 'resolved');
    assert.equal(s.endsAt, Date.parse('2026-11-21T22:28:09.426Z'));
  });

  it('gives one alert the same occurrence key via Alertmanager and straight from Prometheus', () => {
    const viaAm = parseAlertmanagerWebhook(webhook('alertmanager-webhook.json'), CAPTURED_AT).signals[0];
    const direct = parseAlerts(fixture('prometheus-v2-alerts.json'), CAPTURED_AT).signals[0];
    assert.equal(viaAm.occurrenceKey, direct.occurrenceKey);
  });

  it('ignores unknown and group-level fields, and any version string', () => {
    const body = webhook('alertmanager-webhook.json');
    body.version = '5';
    body.somethingNew = { x: 1 };
    body.alerts[0].newField = [1, 2];
    body.commonLabels = 'not even an object';
    const r = parseAlertmanagerWebhook(body, CAPTURED_AT);
    assert.deepEqual(r.issues, []);
    assert.equal(r.signals.length, 1);
  });

  it('a resolved alert without endsAt ends now; a firing one with a future endsAt keeps it', () => {
    const resolved = parseAlertmanagerWebhook({ alerts: [{ status: 'resolved', labels: { a: 'b' } }] }, CAPTURED_AT).signals[0];
    assert.equal(resolved.endsAt, CAPTURED_AT);
    const until = '2026-11-21T22:40:00Z';
    const firing = parseAlertmanagerWebhook({ alerts: [{ status: 'firing', labels: { a: 'b' }, endsAt: until }] }, CAPTURED_AT).signals[0];
    assert.equal(firing.endsAt, Date.parse(until));
    assert.equal(firing.state, 'firing');
  });

  it('without a status, decides like Prometheus from endsAt', () => {
    const r = parseAlertmanagerWebhook({ alerts: [{ labels: { a: 'b' }, endsAt: '2026-11-21T22:00:00Z' }] }, CAPTURED_AT);
    assert.equal(r.signals[0].state, 'resolved');
  });

  describe('invalid input', () => {
    const CASES: Array<[string, unknown, string[]]> = [
      ['an array (that is the /api/v2/alerts format)', [{ labels: { a: 'b' } }], ['body']],
      ['no alerts array', { version: '4', alerts: 'none' }, ['body']],
      ['not an object', 7, ['body']],
      ['unknown status', { alerts: [{ status: 'pending', labels: { a: 'b' } }] }, ['alerts[0].status']],
      ['status of the wrong type', { alerts: [{ status: 1, labels: { a: 'b' } }] }, ['alerts[0].status']],
      ['bad startsAt in the second alert', { alerts: [{ labels: { a: 'b' } }, { labels: { a: 'c' }, startsAt: '2026-02-30T00:00:00Z' }] }, ['alerts[1].startsAt']],
      ['empty labels', { alerts: [{ status: 'firing', labels: {} }] }, ['alerts[0].labels']],
      ['alert is null', { alerts: [null] }, ['alerts[0]']],
    ];
    for (const [what, body, paths] of CASES) {
      it(what, () => assert.deepEqual(parseAlertmanagerWebhook(body, CAPTURED_AT).issues.map((i) => i.path), paths));
    }

    it('keeps the valid alerts next to an invalid one', () => {
      const r = parseAlertmanagerWebhook({ alerts: [{ labels: { a: 'b' } }, { labels: {} }] }, CAPTURED_AT);
      assert.equal(r.total, 2);
      assert.equal(r.signals.length, 1);
    });
  });
});
