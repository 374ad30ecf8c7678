// No container engine runs here, so the Dockerfile is checked as text — except its HEALTHCHECK,
// which is real code and is run against a real HTTPS server.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generate } from 'selfsigned';
import { NODE_HEAP_FLAGS } from '../support/proc.ts';
import { REPO } from './support.ts';

const run = promisify(execFile);

interface Instruction {
  stage: number;
  op: string;
  args: string;
}

/** Instructions with line continuations joined and comments dropped, tagged with their stage. */
function instructions(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ');
  const out: Instruction[] = [];
  let stage = -1;
  for (const line of joined.split('\n')) {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m || line.trimStart().startsWith('#')) continue;
    const op = m[1].toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ stage, op, args: m[2].trim() });
  }
  return out;
}

describe('deploy: Dockerfile', () => {
  const text = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
  const all = instructions(text);
  const last = Math.max(...all.map((i) => i.stage));
  const final = all.filter((i) => i.stage === last);
  const jsonArgs = (op: string) => JSON.parse(final.find((i) => i.op === op)!.args) as string[];

  it('builds in stages on Node 24 and ships production dependencies only', () => {
    const bases = all.filter((i) => i.op === 'FROM').map((i) => i.args);
    assert.ok(bases.length >= 2, 'multi-stage');
    const nodeImage = /^ARG NODE_IMAGE=(\S+)$/m.exec(text)?.[1];
    assert.match(nodeImage ?? '', /^node:24-(alpine|bookworm-slim)/);
    for (const base of bases) assert.match(base, /^\$\{NODE_IMAGE\}/);
    const runs = all.filter((i) => i.op === 'RUN').map((i) => i.args);
    assert.ok(runs.some((r) => /npm ci(?! --omit)/.test(r)), 'build stage: npm ci');
    assert.ok(runs.some((r) => r.includes('npm run build')), 'build stage: npm run build');
    assert.ok(runs.some((r) => r.includes('npm ci --omit=dev')), 'production dependencies only');
    const copies = final.filter((i) => i.op === 'COPY').map((i) => i.args);
    assert.ok(copies.some((c) => /--from=build \S*dist/.test(c)), 'final stage takes dist/ from the build');
    assert.ok(!copies.some((c) => /^\S*src\b/.test(c) || c.startsWith('. ')), 'no sources in the final image');
  });

  it('runs as UID 1000 with the command the chart and manifests rely on', () => {
    assert.equal(final.filter((i) => i.op === 'USER').at(-1)?.args, '1000:1000');
    assert.deepEqual([...jsonArgs('ENTRYPOINT'), ...jsonArgs('CMD')], [
      'node', ...NODE_HEAP_FLAGS, 'dist/main.js', 'serve', '--config', '/etc/kube-sentinel/config.yaml', '--rules', '/etc/kube-sentinel/rules.yaml',
    ]);
    const start = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).scripts.start as string;
    assert.ok(start.startsWith(`node ${NODE_HEAP_FLAGS.join(' ')} `), 'npm start runs with the image\'s heap flags');
    assert.ok(final.some((i) => i.op === 'EXPOSE' && i.args === '8443'));
    assert.ok(final.some((i) => i.op === 'VOLUME' && i.args.includes('/var/lib/kube-sentinel')), 'data lives on a volume (read-only root)');
  });

  it('carries the OCI labels', () => {
    const labels = final.filter((i) => i.op === 'LABEL').map((i) => i.args).join(' ');
    for (const key of ['title', 'description', 'source', 'licenses', 'version', 'revision', 'created']) {
      assert.ok(labels.includes(`org.opencontainers.image.${key}=`), `label ${key}`);
    }
  });

  it('keeps the build context small and free of secrets', () => {
    const ignored = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['**/node_modules', 'dist', '.git', 'test', 'data', '**/*.key', '**/*.pem']) {
      assert.ok(ignored.includes(entry), `.dockerignore lists ${entry}`);
    }
    for (const needed of ['src', 'package.json', 'package-lock.json', 'tsconfig.json']) {
      assert.ok(!ignored.includes(needed), `.dockerignore must not drop ${needed}`);
    }
  });

  describe('HEALTHCHECK', () => {
    let server: Server;
    let status = 200;
    let port = 0;

    before(async () => {
      const pems = await generate([{ name: 'commonName', value: 'localhost' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' });
      server = createServer({ cert: pems.cert, key: pems.private }, (req, res) => {
        res.statusCode = req.url === '/healthz' ? status : 404;
        res.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    after(() => server?.close());

    /** The image's own check, pointed at the test server instead of 8443. */
    async function healthcheck(): Promise<number> {
      const check = final.find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
      const cmd = JSON.parse(/\bCMD (\[.*\])$/.exec(check)?.[1] ?? '[]') as string[];
      assert.equal(cmd[0], 'node');
      const script = cmd[2];
      assert.ok(script.includes('port:8443') && script.includes("path:'/healthz'") && script.includes('rejectUnauthorized:false'));
      try {
        await run(process.execPath, [cmd[1], script.replace('port:8443', `port:${port}`)], { timeout: 10_000 });
        return 0;
      } catch (err) {
        return (err as { code?: number }).code ?? -1;
      }
    }

    it('passes when /healthz answers 200 over TLS with a self-signed certificate', async () => {
      status = 200;
      assert.equal(await healthcheck(), 0);
    });

    it('fails when /healthz answers 503', async () => {
      status = 503;
      assert.equal(await healthcheck(), 1);
    });
  });
});
