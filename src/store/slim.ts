// What a store writes of a RecordItem: the same shape with the parts no store writes emptied (the
// annotations, the normalized message the fingerprint saw, the sender's URL). A Prometheus alert's
// description travels three times in a RecordItem (the signal's message, its annotations, the
// normalized message); a store writes the message once (issue #12). The threaded stores (SQLite,
// PostgreSQL) post slim items to their thread.
import type { PackedItems, RecordItem } from './types.ts';

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

/** Items per chunk: a batch (500 items) is filled to within one chunk of its size. */
const CHUNK_ITEMS = 64;

type SlimChunk = PackedItems & { readonly items: RecordItem[] };

/** Slim items in chunks of at most CHUNK_ITEMS: what the threaded stores serialize (src/store/wire.ts). */
export function packSlim(items: readonly RecordItem[]): SlimChunk[] {
  const chunks: SlimChunk[] = [];
  for (let i = 0; i < items.length; i += CHUNK_ITEMS) {
    const part = items.slice(i, i + CHUNK_ITEMS).map(slim);
    chunks.push({ count: part.length, items: part });
  }
  return chunks;
}
