// The throwaway PostgreSQL that the cluster suites (inside their network namespace) and the
// PostgreSQL probes in bench/ start: stop() must end the server itself, cleanly. It runs under
// runuser (PostgreSQL refuses root), and the SIGINT stop() sent to runuser never reached it: every
// run left a server behind, after waiting out stop()'s 10 s fallback. A script that dies without
// stop() must not leave one either (start()'s cleanup: runuser passes its SIGTERM on, and kills the
// server 2 s later if it is still there).
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { postgresServerPresent, startPostgres } from './real/postgres.ts';
import { freePort, processRunning, requireComponent, waitFor } from '../support/proc.ts';

/**
 * Runs `fn` in a fresh directory the postgres user can enter; afterwards a server whose pid `fn`
 * reported through `started` is killed if it still runs, and the directory is removed.
 */
async function inServerDir(ctx: Mocha.Context, fn: (dir: string, started: (pid: number) => void) => Promise<void>): Promise<void> {
  ctx.timeout(60_000);
  requireComponent(ctx, 'PostgreSQL server binaries (/usr/lib/postgresql/*/bin), runuser and root', postgresServerPresent());
  const dir = mkdtempSync(join(tmpdir(), 'ks-pg-throwaway-'));
  chmodSync(dir, 0o755); // the server runs as the postgres user
  let pid = 0;
  try {
    await fn(dir, (p) => { pid = p; });
  } finally {
    if (pid > 0 && processRunning(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the throwaway PostgreSQL (test/cluster/real/postgres.ts)', () => {
  it('stops with a fast shutdown of the server itself: no process left, its pid file removed', async function () {
    await inServerDir(this, async (dir, started) => {
      const pg = await startPostgres(join(dir, 'pg'), await freePort());
      const pid = pg.pid;
      started(pid);
      const client = new Client({ connectionString: pg.url });
      await client.connect();
      assert.equal((await client.query<{ n: number }>('SELECT 1 AS n')).rows[0].n, 1);
      await client.end();
      assert.ok(processRunning(pid), 'the server runs until stopped');
      await pg.stop();
      assert.equal(processRunning(pid), false, 'the server has exited');
      // A clean shutdown removes postmaster.pid; a killed server leaves it behind.
      assert.equal(existsSync(join(dir, 'pg', 'data', 'postmaster.pid')), false, 'the server shut down cleanly');
    });
  });

  it('stops when the script that started it dies without calling stop()', async function () {
    await inServerDir(this, async (dir, started) => {
      // The script prints the server's pid, then fails without stopping it.
      const script = `import { startPostgres } from ${JSON.stringify(new URL('./real/postgres.ts', import.meta.url).href)};
        const pg = await startPostgres(${JSON.stringify(join(dir, 'pg'))}, ${await freePort()});
        console.log(pg.pid);
        throw new Error('the script dies here');`;
      const run = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]).catch((e: { stdout?: string }) => e);
      const pid = Number((run.stdout ?? '').trim());
      started(pid);
      assert.ok(pid > 0, `the script started a server: ${run.stdout}`);
      await waitFor('the server to exit', async () => !processRunning(pid), 15_000, 100);
    });
  });
});
