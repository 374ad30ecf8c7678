// What ThreadedSqliteStore posts to its store thread for record(): each RecordItem without the parts
// the store never writes. postMessage structured-clones every string it is given, and a Prometheus
// alert's description travels three times in a RecordItem (the signal's message, its annotations, the
// normalized message the fingerprint saw); the store writes the message only once (issue #12).
import type { RecordItem } from '../types.ts';

const NONE: Record<string, string> = {};

/** The same shape, so the thread runs the same record(): unused fields are emptied, not removed. */
export function slim(item: RecordItem): RecordItem {
  const s = item.signal;
  return {
    fingerprint: item.fingerprint,
    signal: {
      source: s.source, channel: s.channel, title: s.title, message: s.message, labels: s.labels,
      annotations: NONE, namespace: s.namespace, pod: s.pod, container: s.container, owner: s.owner,
      reason: '', eventType: '', state: s.state, startsAt: 0, endsAt: s.endsAt, occurrenceKey: s.occurrenceKey,
      occurrenceCount: s.occurrenceCount, alertFingerprint: s.alertFingerprint, generatorUrl: '',
    },
    classification: item.classification,
    workload: item.workload,
    normalizedMessage: '',
    receivedAt: item.receivedAt,
    expiresAt: item.expiresAt,
  };
}

export function toWire(items: readonly RecordItem[]): RecordItem[] {
  return items.map(slim);
}
