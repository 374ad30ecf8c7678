// A throwaway PostgreSQL for the cluster suites. They run in a network namespace with only loopback,
// where the host's server is out of reach by design; this one listens on that namespace's 127.0.0.1
// on the usual port, so test/ha/pg.ts works unchanged. PostgreSQL refuses to run as root: the server
// runs as the `postgres` user Debian's package creates.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { start, waitFor, type Proc } from '../../support/proc.ts';

function postgresBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0], 'bin') : null;
}

/** Whether a throwaway server can start here: Debian's server binaries, and root with runuser to drop it. */
export function postgresServerPresent(): boolean {
  return postgresBinDir() !== null && existsSync('/usr/sbin/runuser') && process.getuid?.() === 0;
}

export interface Postgres {
  url: string;
  /** The postmaster's process id. */
  pid: number;
  /** Fast shutdown; resolves once the server has exited. */
  stop(): Promise<void>;
}

/**
 * `settings` override the defaults (-c name=value), e.g. a bench that wants durable commits and
 * pg_stat_statements: { fsync: 'on', synchronous_commit: 'on', shared_preload_libraries: 'pg_stat_statements' }.
 */
export async function startPostgres(dir: string, port = 5432, settings: Record<string, string> = {}): Promise<Postgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL server binaries (initdb, postgres) are not installed');
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  const data = join(dir, 'data');
  const sock = join(dir, 'sock');
  for (const d of [data, sock]) {
    mkdirSync(d, { recursive: true });
    chownSync(d, uid, gid);
  }
  chmodSync(data, 0o700);
  execFileSync('runuser', ['-u', 'postgres', '--', join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'], { stdio: 'pipe' });
  const all = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '200', ...settings };
  const proc: Proc = start('runuser', ['-u', 'postgres', '--', join(bin, 'postgres'), '-D', data, '-k', sock, '-h', '127.0.0.1', '-p', String(port),
    ...Object.entries(all).flatMap(([k, v]) => ['-c', `${k}=${v}`])], { cwd: dir });
  let postmaster: number;
  try {
    await waitFor('throwaway PostgreSQL', async () => {
      if (proc.child.exitCode !== null) throw new Error(`postgres exited: ${proc.output()}`);
      try {
        execFileSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-q']);
        return true;
      } catch {
        return false;
      }
    }, 30_000, 100);
    postmaster = postmasterPid(data);
  } catch (err) {
    await proc.kill('SIGTERM'); // a server that did not come up is not left running
    throw err;
  }
  // stop() signals the postmaster itself, SIGINT: a fast shutdown. runuser blocks SIGINT (sent to
  // runuser, stop() waited out its fallback and left the server running). On SIGTERM runuser passes
  // SIGTERM on at once (a smart shutdown) and kills the server 2 s later if it is still there: that is
  // how start()'s cleanup stops it when a script dies without stop(). Only while runuser has not exited:
  // after that the postmaster is reaped and its pid may belong to another process.
  const signal = (sig: NodeJS.Signals) => {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
    try { process.kill(postmaster, sig); } catch { /* gone already */ }
  };
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    pid: postmaster,
    async stop() {
      signal('SIGINT');
      const killer = setTimeout(() => { signal('SIGKILL'); proc.child.kill('SIGKILL'); }, 10_000);
      await proc.exited;
      clearTimeout(killer);
    },
  };
}

/** The running server's process id: the first line of the data directory's postmaster.pid. */
function postmasterPid(data: string): number {
  const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n', 1)[0]);
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new Error(`no postmaster pid in ${data}/postmaster.pid`);
  return pid;
}
