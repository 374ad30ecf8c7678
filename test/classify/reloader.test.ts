import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRules } from '../../src/classify/load.ts';
import { RulesReloader } from '../../src/classify/reloader.ts';
import type { DirWatcher, ReloadResult, RulesReloaderOptions } from '../../src/classify/reloader.ts';
import type { Timers } from '../../src/domain/ports.ts';
import { LoadError } from '../../src/domain/errors.ts';

const ruleText = (name: string) => `rules:\n  - {name: ${name}, match: {pattern: "${name}"}, priority: P2}\n`;
const BROKEN = 'rules:\n  - {name: bad, match: {pattern: "(unclosed"}, priority: P1}\n';

/** Deterministic timers: callbacks run only when the test advances the clock. */
class FakeTimers implements Timers {
  now = 0;
  #seq = 0;
  readonly #due = new Map<number, { at: number; fn: () => void }>();
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#due.set(id, { at: this.now + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#due.delete(handle as number);
  }
  get pending(): number {
    return this.#due.size;
  }
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      const next = [...this.#due.entries()].filter(([, t]) => t.at <= target).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      this.#due.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = target;
  }
}

/** A directory watcher the test drives by hand. */
class FakeWatch {
  listener: ((event: string, name: string | null) => void) | null = null;
  errorListener: ((err: Error) => void) | null = null;
  watchedDir = '';
  opened = 0;
  closed = 0;
  readonly fn = (dir: string, listener: (event: string, name: string | null) => void): DirWatcher => {
    this.watchedDir = dir;
    this.listener = listener;
    this.opened++;
    return {
      close: () => {
        this.closed++;
      },
      on: (_event: 'error', l: (err: Error) => void) => {
        this.errorListener = l;
      },
    };
  };
  emit(name: string | null): void {
    this.listener?.('rename', name);
  }
}

/** Harness: in-memory file, fake timers and watcher, and a queue of reported results. */
function harness(extra: Partial<RulesReloaderOptions> = {}) {
  const files = new Map<string, string>([['/etc/ks/rules.yaml', ruleText('first')]]);
  const timers = new FakeTimers();
  const watch = new FakeWatch();
  const results: ReloadResult[] = [];
  const waiters: Array<(r: ReloadResult) => void> = [];
  const changes: Array<[string, string]> = [];
  const reads = { count: 0 };
  const reloader = new RulesReloader({
    file: '/etc/ks/rules.yaml',
    initial: parseRules(ruleText('first'), '/etc/ks/rules.yaml'),
    timers,
    watch: watch.fn,
    readText: async (f) => {
      reads.count++;
      const text = files.get(f);
      if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${f}'`), { code: 'ENOENT' });
      return text;
    },
    onReload: (r) => {
      results.push(r);
      waiters.shift()?.(r);
    },
    onChange: (next, prev) => changes.push([prev.rules[0]?.name ?? '', next.rules[0]?.name ?? '']),
    debounceMs: 100,
    pollMs: 10_000,
    rewatchMs: 1000,
    ...extra,
  });
  const nextResult = () => new Promise<ReloadResult>((resolve) => waiters.push(resolve));
  const write = (text: string) => files.set('/etc/ks/rules.yaml', text);
  return { reloader, timers, watch, results, changes, nextResult, write, files, reads };
}

describe('classify: RulesReloader', () => {
  it('keeps the last good set when the file turns invalid, then picks up the next valid version', async () => {
    const h = harness();
    const first = h.reloader.current();

    h.write(BROKEN);
    const bad = await h.reloader.reload('sighup');
    assert.equal(bad.ok, false);
    assert.ok(!bad.ok && bad.error instanceof LoadError);
    assert.match(!bad.ok ? bad.error.message : '', /rules\[0\] \(bad\)\.match\.pattern: invalid regex/);
    assert.equal(bad.ruleSet, first, 'the failure result names the set still in force');
    assert.equal(h.reloader.current(), first);
    assert.deepEqual(h.changes, []);

    h.write(ruleText('second'));
    const good = await h.reloader.reload('sighup');
    assert.ok(good.ok && good.changed);
    assert.equal(h.reloader.current().rules[0].name, 'second');
    assert.deepEqual(h.changes, [['first', 'second']]);
  });

  it('an unchanged file is a successful no-op that keeps the same compiled set', async () => {
    const h = harness();
    const before = h.reloader.current();
    const r = await h.reloader.reload();
    assert.ok(r.ok && !r.changed);
    assert.equal(h.reloader.current(), before);
    assert.deepEqual(h.changes, []);
  });

  it('a vanished file is reported and the rules stay', async () => {
    const h = harness();
    h.files.clear();
    const r = await h.reloader.reload('sighup');
    assert.ok(!r.ok && /cannot read rules file: ENOENT/.test(r.error.message));
    assert.equal(h.reloader.current().rules[0].name, 'first');
  });

  it('debounces a burst of watch events into one reload and ignores unrelated files', async () => {
    const h = harness();
    await h.reloader.start();
    assert.equal(h.watch.watchedDir, '/etc/ks', 'watches the directory, so rename-replacing editors are seen');

    h.watch.emit('notes.txt');
    h.watch.emit('.rules.yaml.swp');
    h.timers.advance(500);
    assert.equal(h.results.length, 0);

    h.write(ruleText('edited'));
    const done = h.nextResult();
    h.watch.emit('rules.yaml');
    h.timers.advance(50);
    h.watch.emit('rules.yaml');
    h.timers.advance(50);
    h.watch.emit('rules.yaml');
    h.timers.advance(99);
    assert.equal(h.results.length, 0, 'still inside the debounce window');
    h.timers.advance(1);
    const r = await done;
    assert.ok(r.ok && r.changed && r.trigger === 'watch');
    assert.equal(h.results.length, 1);
    await h.reloader.stop();
  });

  it('reloads on a ConfigMap `..data` swap and when the platform gives no file name', async () => {
    const h = harness();
    await h.reloader.start();
    for (const [name, text] of [['..data', ruleText('cm-v2')], [null, ruleText('cm-v3')]] as const) {
      h.write(text);
      const done = h.nextResult();
      h.watch.emit(name);
      h.timers.advance(100);
      assert.ok((await done).ok);
    }
    assert.deepEqual(h.changes, [['first', 'cm-v2'], ['cm-v2', 'cm-v3']]);
    await h.reloader.stop();
  });

  it('stays silent when a poll or stray watch event finds the file unchanged', async () => {
    const h = harness();
    await h.reloader.start();
    h.timers.advance(10_000);
    h.watch.emit('rules.yaml');
    h.timers.advance(100);
    await h.reloader.reload('poll'); // queued behind both automatic attempts
    assert.equal(h.reads.count, 3);
    assert.deepEqual(h.results, []);
    assert.equal((await h.reloader.reload('sighup')).ok, true);
    assert.equal(h.results.length, 1);
    await h.reloader.stop();
  });

  it('polls as a safety net, reporting a still-broken file once but every explicit reload', async () => {
    const h = harness();
    await h.reloader.start();
    h.write(BROKEN);
    let done = h.nextResult();
    h.timers.advance(10_000);
    assert.equal((await done).ok, false);
    await new Promise(setImmediate); // let the finished poll schedule the next one

    const readsBefore = h.reads.count;
    h.timers.advance(10_000);
    await h.reloader.reload('poll'); // queued behind the timer-started poll: reloads run in order
    assert.equal(h.reads.count, readsBefore + 2, 'the timer poll ran');
    assert.equal(h.results.length, 1, 'the same broken content is not re-reported by polls');

    assert.equal((await h.reloader.reload('sighup')).ok, false);
    assert.equal(h.results.length, 2, 'an operator’s SIGHUP always gets an answer');

    h.write(ruleText('fixed'));
    done = h.nextResult();
    h.timers.advance(10_000);
    assert.ok((await done).ok);
    assert.equal(h.reloader.current().rules[0].name, 'fixed');
    await h.reloader.stop();
  });

  it('re-arms a watcher that failed, and reloads in case the failure was the update', async () => {
    const h = harness();
    await h.reloader.start();
    h.write(ruleText('after-error'));
    h.watch.errorListener?.(new Error('EPERM'));
    assert.equal(h.watch.closed, 1);
    const done = h.nextResult();
    h.timers.advance(1000);
    assert.equal(h.watch.opened, 2);
    h.timers.advance(100);
    assert.equal((await done).trigger, 'watch');
    assert.equal(h.reloader.current().rules[0].name, 'after-error');
    await h.reloader.stop();
  });

  it('stop() closes the watcher and cancels pending timers', async () => {
    const h = harness();
    await h.reloader.start();
    h.watch.emit('rules.yaml');
    assert.ok(h.timers.pending > 0);
    await h.reloader.stop();
    assert.equal(h.watch.closed, 1);
    assert.equal(h.timers.pending, 0);
    h.watch.emit('rules.yaml');
    h.timers.advance(60_000);
    assert.equal(h.results.length, 0);
  });

  it('start() without an initial set loads the file, and refuses to start on an invalid one', async () => {
    const h = harness({ initial: undefined });
    assert.throws(() => h.reloader.current(), /not loaded yet/);
    await h.reloader.start();
    assert.equal(h.reloader.current().rules[0].name, 'first');
    assert.ok(h.results[0].ok && h.results[0].trigger === 'startup' && h.results[0].previous === null);
    assert.deepEqual(h.changes, [], 'the first load is not a change');
    await h.reloader.stop();

    const broken = harness({ initial: undefined });
    broken.write(BROKEN);
    await assert.rejects(broken.reloader.start(), LoadError);
    assert.equal(broken.watch.opened, 0);
  });

  it('a throwing listener neither breaks later reloads nor rejects', async () => {
    const h = harness({
      onChange: () => {
        throw new Error('listener bug');
      },
    });
    h.write(ruleText('x1'));
    assert.ok((await h.reloader.reload()).ok);
    h.write(ruleText('x2'));
    assert.ok((await h.reloader.reload()).ok);
    assert.equal(h.reloader.current().rules[0].name, 'x2');
  });

  describe('with the real filesystem watcher', () => {
    // Waits on real fs events (not on sleeps); the guard only turns a missed event into a clear failure.
    function changeOnce(reloader: (onChange: RulesReloaderOptions['onChange']) => RulesReloader) {
      let resolve!: (name: string) => void;
      const changed = new Promise<string>((r) => {
        resolve = r;
      });
      const instance = reloader((next) => resolve(next.rules[0].name));
      const guard = new Promise<string>((_, reject) => setTimeout(() => reject(new Error('no reload within 5 s')), 5000).unref());
      return { instance, changed: Promise.race([changed, guard]) };
    }

    it('survives an editor replacing the file by rename', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ks-reload-'));
      const file = join(dir, 'rules.yaml');
      writeFileSync(file, ruleText('v1'));
      const { instance, changed } = changeOnce((onChange) => new RulesReloader({ file, onChange, debounceMs: 20, pollMs: 0 }));
      await instance.start();
      writeFileSync(join(dir, '.rules.yaml.tmp'), ruleText('v2'));
      renameSync(join(dir, '.rules.yaml.tmp'), file);
      assert.equal(await changed, 'v2');
      await instance.stop();
    });

    it('follows a Kubernetes ConfigMap symlink swap', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ks-cm-'));
      for (const [version, name] of [['..2026_01', 'cm1'], ['..2026_02', 'cm2']]) {
        mkdirSync(join(dir, version));
        writeFileSync(join(dir, version, 'rules.yaml'), ruleText(name));
      }
      symlinkSync('..2026_01', join(dir, '..data'));
      symlinkSync('..data/rules.yaml', join(dir, 'rules.yaml'));
      const file = join(dir, 'rules.yaml');
      const { instance, changed } = changeOnce((onChange) => new RulesReloader({ file, onChange, debounceMs: 20, pollMs: 0 }));
      await instance.start();
      assert.equal(instance.current().rules[0].name, 'cm1');
      // What the kubelet does: a new `..data_tmp` link renamed over `..data` in one atomic step.
      symlinkSync('..2026_02', join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      assert.equal(await changed, 'cm2');
      await instance.stop();
    });
  });
});
