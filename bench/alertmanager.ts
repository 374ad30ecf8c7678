// Alertmanager as the reference for ingest throughput (issue #12): memory only, no notifications
// (a blackhole route: one receiver without configs), TLS with the same test PKI as Kube Sentinel,
// gossip off (empty --cluster.listen-address), loopback only, its own temp storage directory.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { freePort, start, waitFor, type Proc } from '../test/support/proc.ts';

export const DEBIAN_ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

export interface AlertmanagerProc {
  proc: Proc;
  url: string;
  version: string;
  stop(): Promise<void>;
}

export async function alertmanagerVersion(bin: string): Promise<string> {
  const p = start(bin, ['--version']);
  await p.exited;
  return /version (\S+)/.exec(p.output())?.[1] ?? 'unknown';
}

export async function startAlertmanager(bin: string, tls: { certFile: string; keyFile: string; ca: string }): Promise<AlertmanagerProc> {
  if (!existsSync(bin)) throw new Error(`${bin} is required (apt-get install prometheus-alertmanager)`);
  const dir = mkdtempSync(join(tmpdir(), 'ks-bench-am-'));
  const config = join(dir, 'alertmanager.yml');
  writeFileSync(config, 'route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n');
  const web = join(dir, 'web.yml');
  writeFileSync(web, `tls_server_config:\n  cert_file: ${JSON.stringify(tls.certFile)}\n  key_file: ${JSON.stringify(tls.keyFile)}\n`);
  const port = await freePort();
  const proc = start(bin, [`--config.file=${config}`, `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, `--web.config.file=${web}`, '--cluster.listen-address=', '--log.level=error']);
  const url = `https://127.0.0.1:${port}`;
  const agent = new Agent({ connect: { ca: tls.ca } });
  try {
    await waitFor('alertmanager readiness', async () => {
      if (proc.child.exitCode !== null) throw new Error(`alertmanager exited with ${proc.child.exitCode}: ${proc.output()}`);
      const res = await request(`${url}/-/ready`, { dispatcher: agent });
      await res.body.text();
      return res.statusCode === 200;
    }, 20_000, 100);
  } catch (err) {
    await proc.kill('SIGKILL');
    throw err;
  } finally {
    await agent.close();
  }
  return { proc, url, version: await alertmanagerVersion(bin), stop: async () => { await proc.kill('SIGTERM'); } };
}
