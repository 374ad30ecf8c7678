import assert from 'node:assert/strict';
import { admissionResponse, parseAdmissionReview } from '../../src/ingest/admission.ts';

const NOW = Date.parse('2026-11-21T23:00:00Z');
const UID = '705ab4f5-6393-11e8-b7cc-42010a800002';

const EVENT = {
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: 'web-0.17a', namespace: 'shop', uid: 'e-uid' },
  involvedObject: { kind: 'Pod', name: 'web-0', namespace: 'shop', fieldPath: 'spec.containers{app}' },
  reason: 'BackOff',
  message: 'Back-off restarting failed container',
  type: 'Warning',
  count: 2,
  firstTimestamp: '2026-11-21T22:00:00Z',
};

function review(request: Record<string, unknown>): unknown {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: UID,
      kind: { group: '', version: 'v1', kind: 'Event' },
      resource: { group: '', version: 'v1', resource: 'events' },
      namespace: 'shop',
      operation: 'CREATE',
      userInfo: { username: 'system:node:node-1' },
      object: EVENT,
      oldObject: null,
      dryRun: false,
      ...request,
    },
  };
}

describe('ingest/admission (ValidatingWebhook AdmissionReview)', () => {
  it('reads the Event of a CREATE review', () => {
    const r = parseAdmissionReview(review({}), NOW);
    assert.equal(r.uid, UID);
    assert.equal(r.dryRun, false);
    assert.equal(r.operation, 'CREATE');
    assert.deepEqual(r.issues, []);
    assert.equal(r.total, 1);
    const [s] = r.signals;
    assert.equal(s.channel, 'admission');
    assert.equal(s.source, 'event');
    assert.equal(s.pod, 'web-0');
    assert.equal(s.occurrenceKey, 'event:e-uid');
    assert.equal(s.occurrenceCount, 2);
  });

  it('reads an events.k8s.io/v1 Event on UPDATE (count rising)', () => {
    const object = { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { uid: 'v1-uid' }, regarding: { kind: 'Pod', name: 'db-0', namespace: 'data' }, reason: 'Unhealthy', note: 'probe failed', series: { count: 9 } };
    const r = parseAdmissionReview(review({ operation: 'UPDATE', object, kind: { group: 'events.k8s.io', version: 'v1', kind: 'Event' } }), NOW);
    assert.equal(r.signals[0].occurrenceCount, 9);
    assert.equal(r.signals[0].namespace, 'data');
  });

  it('reports dryRun so the caller records nothing', () => {
    const r = parseAdmissionReview(review({ dryRun: true }), NOW);
    assert.equal(r.dryRun, true);
    assert.equal(r.uid, UID);
    assert.equal(r.signals.length, 1, 'parsing still works; recording is the caller\'s decision');
  });

  it('DELETE and a missing object produce no signals and no issues', () => {
    for (const request of [{ operation: 'DELETE', object: null, oldObject: EVENT }, { object: undefined }, { operation: 'CONNECT' }]) {
      const r = parseAdmissionReview(review(request), NOW);
      assert.deepEqual(r.signals, []);
      assert.deepEqual(r.issues, []);
      assert.equal(r.uid, UID);
    }
  });

  it('names problems in the object under request.object', () => {
    const r = parseAdmissionReview(review({ object: { ...EVENT, count: 'many' } }), NOW);
    assert.deepEqual(r.issues.map((i) => i.path), ['request.object.count']);
    assert.deepEqual(r.signals, []);
    assert.equal(r.uid, UID, 'the uid is still there to answer with');
  });

  it('a review without request.uid is invalid', () => {
    const r = parseAdmissionReview(review({ uid: undefined }), NOW);
    assert.equal(r.uid, null);
    assert.deepEqual(r.issues.map((i) => i.path), ['request.uid']);
  });

  for (const [what, body] of [
    ['not an object', 'x'],
    ['no request', { kind: 'AdmissionReview' }],
    ['request is an array', { kind: 'AdmissionReview', request: [] }],
  ] as Array<[string, unknown]>) {
    it(`rejects a body that is ${what}`, () => {
      const r = parseAdmissionReview(body, NOW);
      assert.equal(r.uid, null);
      assert.deepEqual(r.issues.map((i) => i.path), ['body']);
    });
  }

  describe('admissionResponse', () => {
    it('always allows and echoes the uid', () => {
      assert.deepEqual(admissionResponse(UID), {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid: UID, allowed: true },
      });
    });
    it('can carry warnings', () => {
      assert.deepEqual(admissionResponse(UID, { warnings: ['kube-sentinel: store unavailable, event not recorded'] }).response, {
        uid: UID,
        allowed: true,
        warnings: ['kube-sentinel: store unavailable, event not recorded'],
      });
      assert.equal('warnings' in admissionResponse(UID, { warnings: [] }).response, false);
    });
  });
});
