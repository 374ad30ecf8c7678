// Signal builders for classifier tests. Alerts and Events go through the real ingest code
// (src/ingest/alert-fields.ts, src/ingest/events.ts), so a rules test classifies exactly the text and
// fields production makes from the same wire input — never a hand-made approximation of it.
import type { Signal } from '../../src/domain/types.ts';
import { alertSignal as ingestAlert } from '../../src/ingest/alert-fields.ts';
import { IssueList } from '../../src/ingest/common.ts';
import { readEvent } from '../../src/ingest/events.ts';

/** A bare signal with every field filled, for tests about the matcher itself (not ingest's shaping). */
export function signal(over: Partial<Signal> = {}): Signal {
  return {
    source: 'alert',
    channel: 'alerts-v2',
    title: '',
    message: '',
    labels: {},
    annotations: {},
    namespace: '',
    pod: '',
    container: '',
    owner: null,
    reason: '',
    eventType: '',
    state: 'firing',
    startsAt: 0,
    endsAt: null,
    occurrenceKey: 'test',
    occurrenceCount: 1,
    alertFingerprint: null,
    generatorUrl: '',
    ...over,
  };
}

/** An alert as ingest makes it from `POST /api/v2/alerts`: `<alertname>: <summary>\n<description>…`. */
export function alertSignal(labels: Record<string, string>, annotations: Record<string, string> = {}): Signal {
  return ingestAlert({ labels, annotations, startsAt: null, endsAt: null, generatorUrl: '' }, { channel: 'alerts-v2', state: 'firing', endsAt: null, now: 0 });
}

/** A core/v1 Event about a pod as ingest makes it: `<type> <reason>: <message>`, namespace/pod from involvedObject. */
export function eventSignal(reason: string, message: string, over: Partial<Signal> = {}): Signal {
  const namespace = over.namespace ?? 'default';
  const pod = over.pod ?? 'web-7d9f8b6c5-x2k4q';
  const issues = new IssueList();
  const s = readEvent({
    apiVersion: 'v1', kind: 'Event', metadata: { name: `${pod}.1`, namespace },
    involvedObject: { kind: 'Pod', name: pod, namespace }, reason, message, type: over.eventType ?? 'Warning', count: 1,
  }, '', issues, 0, 'events');
  if (s === null) throw new Error(`ingest refused the test Event: ${JSON.stringify(issues.toArray())}`);
  const { namespace: _n, pod: _p, eventType: _t, ...rest } = over;
  return { ...s, ...rest };
}
