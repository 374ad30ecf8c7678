// A store thread's channel (src/store/threads.ts): answers matched by id, errors keeping their code,
// and a thread that ends on its own told apart from one the caller closed (liveness, /healthz).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { MessageChannel, Worker } from 'node:worker_threads';
import { AppError } from '../../src/domain/errors.ts';
import { Channel, serveCalls } from '../../src/store/threads.ts';

// A thread that answers `echo` and `close`, fails `fail` with an AppError as the thread side sends it,
// exits with code 3 on `exit`, and never answers anything else.
const SCRIPT = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => {
  if (m.method === 'echo') parentPort.postMessage({ id: m.id, result: m.args });
  else if (m.method === 'fail') parentPort.postMessage({ id: m.id, error: { kind: 'AppError', code: 'read_only_role', message: 'no' } });
  else if (m.method === 'close') parentPort.postMessage({ id: m.id });
  else if (m.method === 'exit') process.exit(3);
});`;

const isUnavailable = (err: unknown) => err instanceof AppError && err.code === 'store_unavailable';

describe('store thread channel', () => {
  it('answers each call by its id and carries AppError codes back', async () => {
    const c = new Channel(new Worker(SCRIPT, { eval: true }), 'test thread');
    try {
      assert.deepEqual(await Promise.all([c.call('echo', [1]), c.call('echo', ['two'])]), [[1], ['two']]);
      await assert.rejects(c.call('fail', []), (err: unknown) => err instanceof AppError && err.code === 'read_only_role' && err.status === 403);
      await assert.rejects(c.call('echo', [() => 1]), /could not be cloned/, 'an argument clone cannot carry fails that call');
      assert.deepEqual(await c.call('echo', [3]), [3], 'and the channel goes on');
      assert.equal(c.failed, null);
    } finally {
      await c.worker.terminate();
    }
  });

  it('a thread that ends on its own fails every waiting and later call and says why; one the caller closed does not count', async () => {
    const c = new Channel(new Worker(SCRIPT, { eval: true }), 'test thread');
    const waiting = c.call('hang', []); // never answered
    await assert.rejects(c.call('exit', []), isUnavailable);
    await assert.rejects(waiting, isUnavailable);
    await assert.rejects(c.call('echo', []), isUnavailable);
    assert.equal(c.failed?.message, 'test thread exited with code 3');

    const closed = new Channel(new Worker(SCRIPT, { eval: true }), 'test thread');
    await closed.close();
    await assert.rejects(closed.call('echo', []), isUnavailable);
    assert.equal(closed.failed, null);
  });

  it("the thread's side answers with the method of that name, its own first, and fails only the call whose answer cannot cross", async () => {
    const { port1, port2 } = new MessageChannel();
    const store = { ping: () => 'store ping', groups: () => () => 'a function' };
    serveCalls(port1, store, { ping: () => 'own ping' });
    const ask = async (id: number, method: string) => {
      port2.postMessage({ id, method, args: [] });
      const [answer] = await once(port2, 'message') as [{ id: number; result?: unknown; error?: { message: string } }];
      return answer;
    };
    try {
      assert.deepEqual(await ask(1, 'ping'), { id: 1, result: 'own ping' });
      const bad = await ask(2, 'groups');
      assert.equal(bad.id, 2);
      assert.match(bad.error!.message, /could not be cloned/);
      const missing = await ask(3, 'nope');
      assert.equal(missing.id, 3);
      assert.ok(missing.error, 'an unknown method answers with an error');
    } finally {
      port1.close();
      port2.close();
    }
  });
});
