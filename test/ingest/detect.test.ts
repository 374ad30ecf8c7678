import assert from 'node:assert/strict';
import { detectAndParse, detectFormat } from '../../src/ingest/detect.ts';
import { CAPTURED_AT, fixture } from './fixtures.ts';

const EVENT = { kind: 'Event', involvedObject: { kind: 'Pod', name: 'web-0', namespace: 'shop' }, reason: 'BackOff', message: 'x' };

describe('ingest/detect (rules test CLI)', () => {
  const TABLE: Array<[string, unknown, string | null]> = [
    ['Prometheus alert array', fixture('prometheus-v2-alerts.json'), 'alerts'],
    ['Alertmanager webhook', fixture('alertmanager-webhook.json'), 'alertmanager'],
    ['single Event', EVENT, 'events'],
    ['array of Events', [EVENT, EVENT], 'events'],
    ['EventList', { kind: 'EventList', items: [EVENT] }, 'events'],
    ['AdmissionReview', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', operation: 'CREATE', object: EVENT } }, 'admission'],
    ['empty array', [], 'alerts'],
    ['a string', 'hello', null],
    ['null', null, null],
  ];
  for (const [what, body, format] of TABLE) {
    it(`recognises ${what}`, () => assert.equal(detectFormat(body), format));
  }

  it('parses what it recognised', () => {
    assert.equal(detectAndParse(fixture('alertmanager-webhook.json'), CAPTURED_AT).signals[0].alertFingerprint, 'e6d7d72be312c821');
    assert.equal(detectAndParse(fixture('prometheus-v2-alerts.json'), CAPTURED_AT).signals[0].channel, 'alerts-v2');
    const admission = detectAndParse({ kind: 'AdmissionReview', request: { uid: 'u', operation: 'CREATE', object: EVENT } }, CAPTURED_AT);
    assert.equal(admission.format, 'admission');
    assert.equal(admission.signals[0].channel, 'admission');
    assert.equal(detectAndParse([EVENT], CAPTURED_AT).signals[0].reason, 'BackOff');
  });

  it('answers an unrecognisable document with one body issue', () => {
    const r = detectAndParse(42, CAPTURED_AT);
    assert.equal(r.format, null);
    assert.deepEqual(r.issues.map((i) => i.path), ['body']);
    assert.deepEqual(r.signals, []);
  });
});
