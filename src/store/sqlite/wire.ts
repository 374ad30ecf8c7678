// What ThreadedSqliteStore posts to its store thread for record(): each RecordItem without the parts
// the store never writes. postMessage structured-clones every string it is given, and a Prometheus
// alert's description travels three times in a RecordItem (the signal's message, its annotations, the
// normalized message the fingerprint saw); the store writes the message only once (issue #12).
import { deserialize, serialize } from 'node:v8';
import type { PackedItems, RecordItem } from '../types.ts';

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

/** Items per packed chunk: a batch (500 items) is filled to within one chunk of its size. */
const CHUNK_ITEMS = 64;

/**
 * Submissions below this size stay objects: v8.serialize() costs about 10 µs per call for one item
 * against 3.6 µs per item when postMessage clones 64 (bench: scratch A/B, issue #12), and what a
 * small submission keeps on the heap while it waits is small.
 */
const SERIALIZE_FROM = 16;

/**
 * Slim items serialized (V8's structured-clone format, as postMessage would), outside the JS heap; or,
 * for a small submission, the slim items themselves.
 */
export type PackedChunk = PackedItems & ({ readonly bytes: Uint8Array } | { readonly items: RecordItem[] });

/** Store.pack() of the threaded store: chunks of at most CHUNK_ITEMS slim items. */
export function pack(items: readonly RecordItem[]): PackedChunk[] {
  if (items.length < SERIALIZE_FROM) return [{ count: items.length, items: items.map(slim) }];
  const chunks: PackedChunk[] = [];
  for (let i = 0; i < items.length; i += CHUNK_ITEMS) {
    const part = items.slice(i, i + CHUNK_ITEMS).map(slim);
    chunks.push({ count: part.length, bytes: serialize(part) });
  }
  return chunks;
}

/** On the store thread: the items of a batch of chunks, in order. */
export function unpack(chunks: readonly PackedChunk[]): RecordItem[] {
  const items: RecordItem[] = [];
  for (const c of chunks) {
    const part = 'bytes' in c ? deserialize(c.bytes) as RecordItem[] : c.items;
    if (part.length !== c.count) throw new Error(`packed chunk holds ${part.length} items, not ${c.count}`);
    for (const item of part) items.push(item);
  }
  return items;
}

/** The chunks' buffers, to transfer rather than copy (each owns its whole ArrayBuffer, as serialize() makes them). */
export function transferables(chunks: readonly PackedChunk[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const c of chunks) {
    if (!('bytes' in c)) continue;
    const b = c.bytes.buffer;
    if (b instanceof ArrayBuffer && c.bytes.byteOffset === 0 && c.bytes.byteLength === b.byteLength) out.push(b);
  }
  return out;
}
