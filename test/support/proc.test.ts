// The process helper the suites and the bench scripts share: a script that dies without stopping its
// children (an uncaught error; a bench piped into `head` dies of EPIPE the same way) must not leave them
// running, holding their ports and temporary directories.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { processRunning, waitFor } from './proc.ts';

const PROC = new URL('./proc.ts', import.meta.url).href;

/** Runs `body` in a fresh Node process with start() imported; returns its exit status and the pids it printed. */
function script(body: string): { status: number | null; pids: number[]; stderr: string } {
  const code = `import { start } from ${JSON.stringify(PROC)};\n${body}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 15_000 });
  return { status: r.status, pids: r.stdout.split(/\s+/).filter(Boolean).map(Number), stderr: r.stderr };
}

describe('test support: start()', () => {
  it('stops the children a script leaves running when it dies of an uncaught error', async () => {
    const r = script(`
      const a = start('sleep', ['30']);
      const b = start('sleep', ['30']);
      console.log(a.child.pid, b.child.pid);
      setTimeout(() => { throw new Error('boom'); }, 100);`);
    assert.notEqual(r.status, 0, 'the script should have died of its error');
    assert.match(r.stderr, /boom/);
    assert.equal(r.pids.length, 2);
    // SIGTERM is sent while the script exits; the kernel may take a moment to reap.
    await waitFor('the orphaned children to end', async () => r.pids.every((p) => !processRunning(p)), 5000, 50);
  });

  it('leaves nothing to stop once its children have exited, and the script exits normally', () => {
    const r = script(`
      const before = process.listenerCount('exit');
      const a = start('true', []);
      await a.exited;
      // With no child left, no exit hook may remain: the listener count is back to what it was.
      console.log(before, process.listenerCount('exit'));`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.pids.length, 2);
    assert.equal(r.pids[1], r.pids[0], 'an exit hook was left behind after the last child ended');
  });
});
