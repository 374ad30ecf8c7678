// TlsReloader's decisions with injected time, watcher and loader: what triggers a reload, when a new
// pair is applied, and which results are reported (each change and each distinct failure, once).
import assert from 'node:assert/strict';
import type { TlsPair } from '../../src/tls/material.ts';
import type { Timers } from '../../src/domain/ports.ts';
import { TlsReloader, type TlsReloadResult } from '../../src/tls/reloader.ts';

class ManualTimers implements Timers {
  #now = 0;
  #next = 1;
  readonly #due = new Map<number, { at: number; fn: () => void }>();
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#due.set(id, { at: this.#now + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void { this.#due.delete(handle as number); }
  async advance(ms: number): Promise<void> {
    this.#now += ms;
    for (const [id, t] of [...this.#due].sort((a, b) => a[1].at - b[1].at)) {
      if (t.at > this.#now) continue;
      this.#due.delete(id);
      t.fn();
      await new Promise((r) => setImmediate(r));
    }
  }
}

const pair = (digest: string): TlsPair => ({ cert: Buffer.from(digest), key: Buffer.from('k'), digest, subject: 'CN=x', validTo: '', serial: digest });

describe('TlsReloader', () => {
  let timers: ManualTimers;
  let fire: (name: string | null) => void;
  let next: TlsPair | Error;
  let applied: string[];
  let results: TlsReloadResult[];
  let r: TlsReloader;
  beforeEach(() => {
    timers = new ManualTimers();
    applied = [];
    results = [];
    next = pair('a');
    r = new TlsReloader({
      files: { certFile: '/s/tls.crt', keyFile: '/s/tls.key' }, initial: pair('a'),
      apply: (p) => applied.push(p.digest), onReload: (res) => results.push(res), timers, debounceMs: 100, pollMs: 1000,
      watch: (_dir, listener) => { fire = (n) => listener('rename', n); return { close: () => {}, on: () => undefined }; },
      load: async () => { if (next instanceof Error) throw next; return next; },
    });
    r.start();
  });
  afterEach(() => r.stop());

  it('reloads once per burst of events on the files or the ..data swap, ignoring other names', async () => {
    next = pair('b');
    fire('unrelated.txt');
    await timers.advance(200);
    assert.deepEqual(applied, []);
    fire('..data'); fire('tls.crt'); fire('tls.key');
    await timers.advance(200);
    assert.deepEqual(applied, ['b']);
    assert.equal(results.length, 1);
    assert.equal(results[0].trigger, 'watch');
  });

  it('keeps the pair in service on a failed load and reports a repeated failure once', async () => {
    next = new Error('the key does not match the certificate');
    for (let i = 0; i < 3; i++) await timers.advance(1000);
    assert.deepEqual(applied, []);
    assert.equal(results.filter((x) => !x.ok).length, 1);
    assert.equal(r.current.digest, 'a');
    next = pair('c');
    await timers.advance(1000);
    assert.deepEqual(applied, ['c'], 'the poll picks the rotation up without any file event');
  });

  it('answers SIGHUP even when nothing changed, and applies nothing', async () => {
    const res = await r.reload('sighup');
    assert.ok(res.ok && !res.changed);
    assert.deepEqual(applied, []);
    assert.equal(results.length, 1);
  });
});
