// Signal factories for classifier tests: every field filled, so tests state only what they vary.
import type { Signal } from '../../src/domain/types.ts';

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

/** An alert as ingest presents it: labels as sent, message = alertname + summary/description/message. */
export function alertSignal(labels: Record<string, string>, annotations: Record<string, string> = {}): Signal {
  const text = [labels.alertname, annotations.summary, annotations.description, annotations.message].filter(Boolean);
  return signal({
    source: 'alert',
    title: labels.alertname ?? '',
    message: text.join('\n'),
    labels,
    annotations,
    namespace: labels.namespace ?? '',
    pod: labels.pod ?? '',
    container: labels.container ?? '',
  });
}

/** A core/v1 Event as ingest presents it: message + reason + type, namespace/pod from involvedObject. */
export function eventSignal(reason: string, message: string, over: Partial<Signal> = {}): Signal {
  const eventType = over.eventType ?? 'Warning';
  return signal({
    source: 'event',
    channel: 'events',
    title: reason,
    message: [message, reason, eventType].join('\n'),
    reason,
    eventType,
    namespace: 'default',
    pod: 'web-7d9f8b6c5-x2k4q',
    ...over,
  });
}
