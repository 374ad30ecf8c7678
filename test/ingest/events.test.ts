import assert from 'node:assert/strict';
import { containerFromFieldPath, eventMessage, parseEvents } from '../../src/ingest/events.ts';

const NOW = Date.parse('2026-11-21T23:00:00Z');
const UID = 'b1c2d3e4-0000-4000-8000-000000000001';

/** A core/v1 Event as kubelet writes it. */
function coreEvent(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'web-7d9f8b6c5-x2k4q.17a9b', namespace: 'shop', uid: UID, resourceVersion: '1234' },
    involvedObject: { apiVersion: 'v1', kind: 'Pod', name: 'web-7d9f8b6c5-x2k4q', namespace: 'shop', uid: 'pod-uid', fieldPath: 'spec.containers{app}' },
    reason: 'BackOff',
    message: 'Back-off restarting failed container app in pod web-7d9f8b6c5-x2k4q_shop(pod-uid)',
    source: { component: 'kubelet', host: 'node-1' },
    firstTimestamp: '2026-11-21T22:00:00Z',
    lastTimestamp: '2026-11-21T22:05:00Z',
    count: 3,
    type: 'Warning',
    eventTime: null,
    reportingComponent: 'kubelet',
    reportingInstance: 'node-1',
    ...over,
  };
}

/** An events.k8s.io/v1 Event as the new recorder writes it. */
function v1Event(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: 'db-0.17a9c', namespace: 'data', uid: 'c0ffee00-0000-4000-8000-000000000002' },
    eventTime: '2026-11-21T22:10:00.123456Z',
    series: { count: 4, lastObservedTime: '2026-11-21T22:20:00.000000Z' },
    reportingController: 'kubelet',
    reportingInstance: 'node-2',
    action: 'Killing',
    reason: 'Unhealthy',
    regarding: { kind: 'Pod', namespace: 'data', name: 'db-0', fieldPath: 'spec.containers{postgres}' },
    note: 'Liveness probe failed: connection refused',
    type: 'Warning',
    deprecatedCount: 2,
    ...over,
  };
}

describe('ingest/events (/webhooks/events)', () => {
  it('converts a core/v1 Pod Event', () => {
    const r = parseEvents(coreEvent(), NOW);
    assert.deepEqual(r.issues, []);
    assert.equal(r.total, 1);
    const [s] = r.signals;
    assert.equal(s.source, 'event');
    assert.equal(s.channel, 'events');
    assert.equal(s.title, 'BackOff');
    assert.equal(s.reason, 'BackOff');
    assert.equal(s.eventType, 'Warning');
    assert.equal(s.message, 'Warning BackOff: Back-off restarting failed container app in pod web-7d9f8b6c5-x2k4q_shop(pod-uid)');
    assert.equal(s.namespace, 'shop');
    assert.equal(s.pod, 'web-7d9f8b6c5-x2k4q');
    assert.equal(s.container, 'app');
    assert.equal(s.owner, null);
    assert.equal(s.state, 'firing');
    assert.equal(s.startsAt, Date.parse('2026-11-21T22:00:00Z'));
    assert.equal(s.endsAt, null);
    assert.equal(s.occurrenceKey, `event:${UID}`);
    assert.equal(s.occurrenceCount, 3);
    assert.equal(s.alertFingerprint, null);
    assert.deepEqual(s.annotations, { component: 'kubelet', host: 'node-1' });
  });

  it('converts an events.k8s.io/v1 Event (regarding, note, series)', () => {
    const [s] = parseEvents(v1Event(), NOW).signals;
    assert.equal(s.message, 'Warning Unhealthy: Liveness probe failed: connection refused');
    assert.equal(s.namespace, 'data');
    assert.equal(s.pod, 'db-0');
    assert.equal(s.container, 'postgres');
    assert.equal(s.occurrenceCount, 4, 'series.count wins over deprecatedCount');
    assert.equal(s.startsAt, Date.parse('2026-11-21T22:10:00.123Z'));
    assert.equal(s.occurrenceKey, 'event:c0ffee00-0000-4000-8000-000000000002');
    assert.deepEqual(s.annotations, { component: 'kubelet' });
  });

  it('falls back to deprecatedCount and deprecatedFirstTimestamp', () => {
    const [s] = parseEvents(v1Event({ series: undefined, eventTime: undefined, deprecatedFirstTimestamp: '2026-11-21T21:00:00Z' }), NOW).signals;
    assert.equal(s.occurrenceCount, 2);
    assert.equal(s.startsAt, Date.parse('2026-11-21T21:00:00Z'));
  });

  it('a rising count keeps the occurrence key and reports the new cumulative count', () => {
    const first = parseEvents(coreEvent({ count: 1 }), NOW).signals[0];
    const later = parseEvents(coreEvent({ count: 7, lastTimestamp: '2026-11-21T22:30:00Z' }), NOW).signals[0];
    assert.equal(later.occurrenceKey, first.occurrenceKey);
    assert.equal(first.occurrenceCount, 1);
    assert.equal(later.occurrenceCount, 7);
    assert.equal(later.startsAt, first.startsAt);
  });

  it('reads an array and an EventList, with item paths', () => {
    const arr = parseEvents([coreEvent(), v1Event()], NOW);
    assert.equal(arr.total, 2);
    assert.equal(arr.signals.length, 2);
    const list = parseEvents({ apiVersion: 'v1', kind: 'EventList', metadata: {}, items: [coreEvent(), { reason: 5 }] }, NOW);
    assert.equal(list.total, 2);
    assert.equal(list.signals.length, 1);
    assert.deepEqual(list.issues.map((i) => i.path), ['items[1].reason']);
    const anyItems = parseEvents({ items: [v1Event()] }, NOW);
    assert.equal(anyItems.signals.length, 1);
    assert.deepEqual(parseEvents({ kind: 'EventList', items: [] }, NOW), { signals: [], issues: [], total: 0 });
  });

  it('events about other kinds name the object as owner', () => {
    const [deploy] = parseEvents(
      coreEvent({ involvedObject: { kind: 'Deployment', name: 'web', namespace: 'shop' }, reason: 'ScalingReplicaSet', type: 'Normal', message: 'Scaled up' }),
      NOW,
    ).signals;
    assert.deepEqual(deploy.owner, { kind: 'Deployment', name: 'web' });
    assert.equal(deploy.pod, '');
    assert.equal(deploy.container, '');
    assert.equal(deploy.namespace, 'shop');
  });

  it('a cluster-scoped object (Node) has no namespace, even though its Event lives in "default"', () => {
    const [node] = parseEvents(
      coreEvent({ metadata: { name: 'n.1', namespace: 'default', uid: 'u' }, involvedObject: { kind: 'Node', name: 'node-1' }, reason: 'NodeNotReady' }),
      NOW,
    ).signals;
    assert.equal(node.namespace, '');
    assert.deepEqual(node.owner, { kind: 'Node', name: 'node-1' });
  });

  it('keys an Event without uid by namespace/name, and one without metadata by its content', () => {
    const [byName] = parseEvents(coreEvent({ metadata: { name: 'e.1', namespace: 'shop' } }), NOW).signals;
    assert.equal(byName.occurrenceKey, 'event:shop/e.1');
    const [bare] = parseEvents(coreEvent({ metadata: undefined }), NOW).signals;
    assert.equal(bare.occurrenceKey, `event:Pod/shop/web-7d9f8b6c5-x2k4q/BackOff/${Date.parse('2026-11-21T22:00:00Z')}`);
  });

  it('defaults: count 1, startsAt now when no timestamp at all', () => {
    const [s] = parseEvents({ reason: 'Failed', message: 'x' }, NOW).signals;
    assert.equal(s.occurrenceCount, 1);
    assert.equal(s.startsAt, NOW);
    assert.equal(s.namespace, '');
    const [zero] = parseEvents(coreEvent({ count: 0 }), NOW).signals;
    assert.equal(zero.occurrenceCount, 1);
  });

  it('message format drops empty parts', () => {
    assert.equal(eventMessage('Warning', 'BackOff', 'text'), 'Warning BackOff: text');
    assert.equal(eventMessage('', 'BackOff', 'text'), 'BackOff: text');
    assert.equal(eventMessage('Warning', '', 'text'), 'Warning: text');
    assert.equal(eventMessage('Warning', 'BackOff', ''), 'Warning BackOff');
    assert.equal(eventMessage('', '', 'text'), 'text');
  });

  it('container from fieldPath', () => {
    assert.equal(containerFromFieldPath('spec.containers{app}'), 'app');
    assert.equal(containerFromFieldPath('spec.initContainers{init-db}'), 'init-db');
    assert.equal(containerFromFieldPath('spec.ephemeralContainers{debugger}'), 'debugger');
    assert.equal(containerFromFieldPath('spec.volumes{data}'), '');
    assert.equal(containerFromFieldPath('spec.containers{app'), '');
    assert.equal(containerFromFieldPath(''), '');
  });

  it('cuts a huge message instead of rejecting the Event', () => {
    const [s] = parseEvents(coreEvent({ message: 'x'.repeat(100_000) }), NOW).signals;
    assert.ok(s.message.length < 17_000);
  });

  describe('invalid input', () => {
    const CASES: Array<[string, unknown, string[]]> = [
      ['a number', 5, ['body']],
      ['null', null, ['body']],
      ['an array item that is a string', ['x'], ['[0]']],
      ['not an Event kind', coreEvent({ kind: 'Pod' }), ['kind']],
      ['neither reason nor message', { metadata: { uid: 'u' }, type: 'Warning' }, ['body']],
      ['count not a number', coreEvent({ count: '3' }), ['count']],
      ['negative count', coreEvent({ count: -1 }), ['count']],
      ['series.count fractional', v1Event({ series: { count: 1.5 } }), ['series.count']],
      ['involvedObject not an object', coreEvent({ involvedObject: 'web' }), ['involvedObject']],
      ['regarding.name not a string', v1Event({ regarding: { kind: 'Pod', name: 7 } }), ['regarding.name']],
      ['bad firstTimestamp', coreEvent({ firstTimestamp: 'earlier' }), ['firstTimestamp']],
      ['metadata.labels not strings', coreEvent({ metadata: { uid: 'u', labels: { a: 1 } } }), ['metadata.labels.a']],
      ['metadata an array', coreEvent({ metadata: [] }), ['metadata']],
      ['message not a string', coreEvent({ message: { text: 'x' } }), ['message']],
      ['note not a string', v1Event({ note: 1 }), ['note']],
    ];
    for (const [what, body, paths] of CASES) {
      it(what, () => {
        const r = parseEvents(body, NOW);
        assert.deepEqual(r.issues.map((i) => i.path), paths);
        assert.deepEqual(r.signals, []);
      });
    }
  });
});

describe("ingest: Kube Sentinel's own Events are never signals", () => {
  const own = [
    ['reason KubeSentinelRemediation', coreEvent({ reason: 'KubeSentinelRemediation', message: 'Kube Sentinel: restarted pod shop/web-1 (CrashLoopBackOff)', source: {}, reportingComponent: '' })],
    ['source.component kube-sentinel', coreEvent({ reason: 'BackOff', source: { component: 'kube-sentinel' }, reportingComponent: '' })],
    ['reportingComponent kube-sentinel', coreEvent({ source: {}, reportingComponent: 'kube-sentinel' })],
    ['events.k8s.io reportingController kube-sentinel', v1Event({ reportingController: 'kube-sentinel' })],
  ] as const;
  for (const [name, event] of own) {
    it(`accepts and drops an Event with ${name}`, () => {
      const r = parseEvents([event, coreEvent()], NOW);
      assert.deepEqual(r.issues, []);
      assert.equal(r.signals.length, 1, 'only the kubelet Event is a signal');
      assert.equal(r.signals[0]!.reason, 'BackOff');
      assert.notEqual(r.signals[0]!.annotations.component, 'kube-sentinel');
    });
  }
});
