// supervise() (src/store/sqlite/supervise.ts) with real worker threads: the indexer thread of
// ThreadedSqliteStore comes back after it dies, and keeps trying when coming back fails.
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { systemTimers } from '../../src/domain/ports.ts';
import { supervise } from '../../src/store/sqlite/supervise.ts';
import { waitFor } from '../support/proc.ts';

/** A real thread that exits on its own a moment after it starts. */
const shortLived = (): Worker => new Worker('setTimeout(() => process.exit(0), 20)', { eval: true });

describe('SQLite store: supervise()', () => {
  const workers: Worker[] = [];
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.terminate();
  });

  it('replaces a thread that exits, while wanted, and no more once not', async () => {
    let wanted = true;
    const started: Worker[] = [];
    await supervise(async () => shortLived(), {
      wanted: () => wanted, delayMs: 10, timers: systemTimers, onStarted: (w) => { started.push(w); workers.push(w); },
    });
    await waitFor('three threads', async () => started.length >= 3, 5000, 10);
    wanted = false;
    const count = started.length;
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(started.length <= count + 1, `${started.length} threads after ${count}: at most one already scheduled`);
  });

  it('keeps trying when a restart fails, and hands over the thread that finally starts', async () => {
    let attempts = 0;
    const started: Worker[] = [];
    let wanted = true;
    await supervise(async () => {
      attempts++;
      if (attempts >= 2 && attempts <= 4) throw new Error('search file busy');
      const w = attempts === 1 ? shortLived() : new Worker('setInterval(() => {}, 1000)', { eval: true });
      workers.push(w);
      return w;
    }, { wanted: () => wanted, delayMs: 10, timers: systemTimers, onStarted: (w) => started.push(w) });
    await waitFor('the fifth attempt', async () => started.length === 2, 5000, 10);
    wanted = false;
    assert.equal(attempts, 5);
  });

  it('the first start failing is the caller\'s, and nothing is retried', async () => {
    let attempts = 0;
    await assert.rejects(supervise(async () => { attempts++; throw new Error('no search file'); }, {
      wanted: () => true, delayMs: 10, timers: systemTimers, onStarted: () => {},
    }), /no search file/);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(attempts, 1);
  });
});
