// `npm test`'s runner. The host suites run as they are; the cluster suites (test/cluster/real) run
// inside a fresh network namespace that has only loopback, so a webhook or client that tried to reach a
// ClusterIP or any other address fails at once instead of leaving the machine. One closing line adds
// both runs up for CI. `KS_TEST_ONLY=host|cluster` runs one part; extra arguments go to both mocha runs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Summary { passed: number; failed: number; skipped: number }

const root = fileURLToPath(new URL('..', import.meta.url));
const mocha = join(root, 'node_modules', '.bin', 'mocha');
const only = process.env.KS_TEST_ONLY ?? '';
const extra = process.argv.slice(2);
const work = mkdtempSync(join(tmpdir(), 'ks-test-run-'));
const total: Summary = { passed: 0, failed: 0, skipped: 0 };

function run(name: string, cmd: string, args: string[]): void {
  const file = join(work, `${name}.json`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, KS_SUMMARY_FILE: file } });
  const s: Summary | null = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
  if (!s) {
    console.error(`\n!!! the ${name} suites ended (status ${r.status}, signal ${r.signal}) without a summary: counted as 1 failed`);
    total.failed += 1;
    return;
  }
  total.passed += s.passed;
  total.failed += s.failed;
  total.skipped += s.skipped;
  if (r.status !== 0 && s.failed === 0) {
    console.error(`\n!!! the ${name} suites exited with status ${r.status}: counted as 1 failed`);
    total.failed += 1;
  }
}

function canIsolate(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'creating a network namespace (unshare --net) needs root';
  for (const bin of ['unshare', 'ip']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) return `${bin} is not installed`;
  }
  return null;
}

if (only !== 'cluster') run('host', mocha, extra);
if (only !== 'host') {
  const why = canIsolate();
  if (why === null) {
    console.log('\n== cluster suites: real kube-apiserver, etcd and kube-controller-manager in a loopback-only network namespace');
    run('cluster', 'unshare', ['--net', '--fork', '--', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"',
      mocha, '--config', 'test/cluster/real/mocharc.json', ...extra]);
  } else if (process.env.CI) {
    console.error(`\n!!! the cluster suites cannot run: ${why} (required in CI)`);
    total.failed += 1;
  } else {
    console.warn(`\n  !!! SKIPPING the cluster suites: ${why} (CI fails instead of skipping)\n`);
    total.skipped += 1;
  }
}
rmSync(work, { recursive: true, force: true });
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed > 0 ? 1 : 0);
