// What an ingest request keeps on the JS heap while it waits for its commit (issue #12). With a store
// that packs (the threaded SQLite store), nothing of the body, its signals or its items may stay
// reachable: under load thousands of alerts wait for a batch, and on the heap every young-generation
// GC copied and promoted them (a quarter of the server's CPU under 64-alert posts).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import request from 'supertest';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import { type PackedChunk, pack, unpack } from '../../src/store/wire.ts';
import type { Store } from '../../src/store/types.ts';
import { INGEST_TOKEN, makeApp } from '../support/app.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap in use after full collections (MiB). */
async function liveHeapMiB(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed / 2 ** 20;
}

/** The threaded store's pack/recordPacked in-process, with commits held until the test releases them. */
function heldPackingStore(dir: string) {
  const store = new SqliteStore({ path: join(dir, 'ks.db'), maxOccurrences: 5 }) as Store;
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  let packed = 0;
  store.pack = (items) => {
    packed += items.length;
    return pack(items);
  };
  store.recordPacked = async (chunks) => {
    await gate;
    return store.record(unpack(chunks as PackedChunk[]));
  };
  return { store, release, packed: () => packed };
}

describe('ingest memory while a request waits for its commit', () => {
  it('keeps neither the body nor its alerts on the heap once they are packed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-mem-'));
    const held = heldPackingStore(dir);
    const t = await makeApp({ store: held.store, config: { web: { body_limit: '8mb' } } });
    try {
      // 2000 alerts with distinct 2 KB descriptions: about 4.5 MB of JSON, far more once parsed.
      const N = 2000;
      const body = JSON.stringify(Array.from({ length: N }, (_, n) => ({
        labels: { alertname: `MemProbe${n}`, namespace: 'shop', pod: `web-${n}`, severity: 'warning' },
        annotations: { description: `${n} `.padEnd(2048, 'x') },
        startsAt: '2026-12-06T10:00:00Z',
      })));
      const before = await liveHeapMiB();
      const pending = request(t.app.handler).post('/api/v2/alerts').set('authorization', `Bearer ${INGEST_TOKEN}`)
        .set('content-type', 'application/json').send(body).then((r) => r);
      for (let i = 0; i < 500 && held.packed() < N; i++) await new Promise((r) => setTimeout(r, 10));
      if (held.packed() < N) { const r = await Promise.race([pending, new Promise((r) => setTimeout(() => r(null), 100))]); assert.fail(`packed ${held.packed()}: ${(r as { status?: number; text?: string } | null)?.status} ${(r as { text?: string } | null)?.text?.slice(0, 300)}`); }
      const waiting = await liveHeapMiB();
      assert.ok(waiting - before < 2, `heap grew by ${(waiting - before).toFixed(1)} MiB while the request waited (bodies of ${(body.length / 2 ** 20).toFixed(1)} MiB)`);
      held.release();
      const r = await pending;
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.accepted, N);
      assert.equal((await t.store.listGroups({ page: 1, pageSize: 1 })).total, N);
    } finally {
      held.release();
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
