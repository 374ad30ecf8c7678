// What a threaded store (SQLite, PostgreSQL) posts to its store thread for record(): slim items (src/store/slim.ts).
// postMessage structured-clones every string it is given, so what the store never writes stays here.
import { deserialize, serialize } from 'node:v8';
import type { PackedItems, RecordItem } from './types.ts';
import { packSlim, slim } from './slim.ts';

export function toWire(items: readonly RecordItem[]): RecordItem[] {
  return items.map(slim);
}

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

/** Store.pack() of the threaded store: packSlim()'s chunks, serialized. */
export function pack(items: readonly RecordItem[]): PackedChunk[] {
  if (items.length < SERIALIZE_FROM) return [{ count: items.length, items: toWire(items) }];
  return packSlim(items).map((c) => ({ count: c.count, bytes: serialize(c.items) }));
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
