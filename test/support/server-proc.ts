// Runs the BUILT server (dist/main.js) as a child process with a temp data dir and the test PKI.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { TestClient } from './client.ts';
import { testPki } from './pki.ts';
import { BUILT_MAIN, NODE_HEAP_FLAGS, freePort, start, waitFor, type Proc } from './proc.ts';

export const INGEST_TOKEN = 'ingest-token-0123456789abcdef';
export const READ_TOKEN = 'read-token-0123456789abcdef';
export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';

export interface ServerProc {
  proc: Proc;
  port: number;
  url: string;
  dir: string;
  configFile: string;
  client: TestClient;
  caFile: string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  restart(): Promise<ServerProc>;
}

export async function startServer(opts: { dir?: string; port?: number; config?: Record<string, unknown>; env?: Record<string, string> } = {}): Promise<ServerProc> {
  const pki = await testPki();
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'ks-server-'));
  const port = opts.port ?? await freePort();
  const config = {
    web: { listen: `127.0.0.1:${port}` },
    tls: { cert_file: pki.certFile, key_file: pki.keyFile, self_signed: false },
    auth: { ingest_tokens: [INGEST_TOKEN], read_tokens: [READ_TOKEN], admin_tokens: [ADMIN_TOKEN] },
    store: { type: 'sqlite', path: join(dir, 'ks.db') },
    ...opts.config,
  };
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, stringify(config));
  const proc = start(process.execPath, [...NODE_HEAP_FLAGS, BUILT_MAIN, 'serve', '--config', configFile], {
    env: { KS_SHUTDOWN_DELAY: '0s', LOG_LEVEL: 'warn', ...opts.env },
  });
  const client = new TestClient({ base: `https://127.0.0.1:${port}`, ca: pki.ca, token: INGEST_TOKEN });
  try {
    await waitFor('server readiness', async () => {
      if (proc.child.exitCode !== null) throw new Error(`server exited with ${proc.child.exitCode}: ${proc.output()}`);
      return (await client.get('/readyz')).status === 200;
    }, 20_000, 100);
  } catch (err) {
    await proc.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n--- server output ---\n${proc.output()}`);
  }
  const self: ServerProc = {
    proc, port, url: `https://127.0.0.1:${port}`, dir, configFile, client, caFile: pki.caFile,
    stop: async (signal = 'SIGTERM') => { await client.close(); return proc.kill(signal); },
    restart: () => startServer({ ...opts, dir, port }),
  };
  return self;
}
