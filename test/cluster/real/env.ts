// What the cluster suites share for one run: one control plane, one throwaway PostgreSQL. Started by
// the root hooks (hooks.ts) before any suite and stopped after the last; suites isolate themselves
// with their own namespaces and databases.
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binariesPresent, startControlPlane, type ControlPlane } from './control-plane.ts';
import { startPostgres, type Postgres } from './postgres.ts';
import { Scene } from './scene.ts';

export interface ClusterEnv {
  cp: ControlPlane;
  pg: Postgres;
  scene: Scene;
  dir: string;
}

let current: ClusterEnv | null = null;

export function clusterEnv(): ClusterEnv {
  if (!current) throw new Error('the control plane is not running (test/cluster/real/hooks.ts starts it)');
  return current;
}

export async function startClusterEnv(): Promise<ClusterEnv> {
  if (!binariesPresent()) {
    throw new Error('control-plane binaries are missing: run test/cluster/build-control-plane.sh (Go 1.26 at /usr/local/go, ~20 min once, cached)');
  }
  const dir = mkdtempSync(join(tmpdir(), 'ks-cluster-'));
  chmodSync(dir, 0o755); // PostgreSQL runs as its own user and must reach its data directory
  const pg = await startPostgres(join(dir, 'pg'));
  process.env.KS_TEST_PG_URL = pg.url;
  const cp = await startControlPlane(join(dir, 'cp'));
  console.log(`  control plane ready in ${cp.startSeconds.toFixed(1)} s at ${cp.url}`);
  current = { cp, pg, scene: new Scene(cp.admin), dir };
  return current;
}

export async function stopClusterEnv(): Promise<void> {
  if (!current) return;
  const { cp, pg } = current;
  current = null;
  await cp.admin.close();
  await cp.stop();
  await pg.stop();
}
