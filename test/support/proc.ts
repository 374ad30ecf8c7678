// Spawning real processes for end-to-end tests: the built server, Prometheus, Alertmanager.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BUILT_MAIN = `${ROOT}dist/main.js`;
/**
 * V8 heap flags the image's ENTRYPOINT and `npm start` run with (test/deploy checks they agree): a small
 * young generation and a bounded old space keep RSS near the live data instead of letting V8 grow the
 * heap toward its multi-GiB default between major GCs. With an old space that small V8 starts the next
 * major GC once the heap reaches its live size times a factor of at most 1.3; under a storm of batched
 * alerts the main thread then ran one 6–8 times a second (issue #12). The factor is fixed at 1.5 instead.
 * Tests and benchmarks launch the server the same way.
 */
export const NODE_HEAP_FLAGS = ['--max-semi-space-size=4', '--max-old-space-size=256', '--heap-growing-percent=50'] as const;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export function which(bin: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : null;
}

/**
 * A test that needs a real component: in CI a missing component is a failure, locally a loud skip.
 * Call from a mocha `before` with `this`.
 */
export function requireComponent(ctx: Mocha.Context, what: string, present: boolean): void {
  if (present) return;
  if (process.env.CI) throw new Error(`${what} is required in CI but is missing`);
  console.warn(`\n  !!! SKIPPING: ${what} is not installed here (CI fails instead of skipping)\n`);
  ctx.skip();
}

export function builtServerPresent(): boolean {
  return existsSync(BUILT_MAIN);
}

export interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Children of start() still running. When this process ends without stopping them (an uncaught error,
 * or a bench script piped into `head`, whose next write to the closed pipe throws EPIPE), its 'exit'
 * hook sends each one SIGTERM: servers, a throwaway PostgreSQL (runuser passes the signal on) and
 * Alertmanager would otherwise keep running, and keep their ports, after the script is gone. (A script
 * killed by a signal runs no 'exit' hook; Ctrl-C reaches its children anyway, as its process group.)
 */
const running = new Set<ChildProcess>();

function stopOnExit(child: ChildProcess): void {
  if (running.size === 0) process.once('exit', stopRunning);
  running.add(child);
  const gone = () => {
    running.delete(child);
    if (running.size === 0) process.off('exit', stopRunning);
  };
  child.once('exit', gone);
  child.once('error', gone); // a spawn that failed (no 'exit' follows)
}

function stopRunning(): void {
  for (const child of running) child.kill('SIGTERM');
}

/** Running: the process exists and is not a zombie (an orphan's exit status may wait on an init that never reaps). */
export function processRunning(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

export function start(cmd: string, args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Proc {
  const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  stopOnExit(child);
  let out = '';
  const keep = (b: Buffer) => { out += b.toString(); if (out.length > 200_000) out = out.slice(-100_000); };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child, exited, output: () => out,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown = null;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`);
}

/** The names of this process's threads (/proc comm): store threads are named so `top -H` tells them apart. */
export function threadNames(): string[] {
  return readdirSync('/proc/self/task').flatMap((t) => {
    try {
      return [readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim()];
    } catch {
      return [];
    }
  });
}
