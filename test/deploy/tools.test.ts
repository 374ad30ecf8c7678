import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findKustomize, findTool, requireTool } from './support.ts';

describe('deploy: tool discovery', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ks-tools-'));
    writeFileSync(join(dir, 'helm'), '#!/bin/sh\n');
    chmodSync(join(dir, 'helm'), 0o755);
    writeFileSync(join(dir, 'kubectl'), '#!/bin/sh\n');
    chmodSync(join(dir, 'kubectl'), 0o755);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prefers PATH, then the fallback locations, and ignores non-executables', () => {
    assert.deepEqual(findTool('helm', ['/nonexistent/helm'], dir), { argv: [join(dir, 'helm')] });
    assert.deepEqual(findTool('helm', [join(dir, 'helm')], '/nonexistent'), { argv: [join(dir, 'helm')] });
    writeFileSync(join(dir, 'plain'), '');
    assert.equal(findTool('plain', [], dir), null);
  });

  it('falls back to `kubectl kustomize` when kustomize itself is missing', () => {
    const tool = findKustomize(dir);
    // A real kustomize in a fallback location wins; otherwise kubectl from PATH is used.
    if (tool?.argv.length === 2) assert.deepEqual(tool.argv, [join(dir, 'kubectl'), 'kustomize']);
    else assert.match(tool?.argv[0] ?? '', /kustomize$/);
  });

  it('fails in CI and skips loudly elsewhere when a tool is missing', () => {
    const ctx = { test: undefined, skip: () => { throw new Error('skipped'); } } as unknown as Mocha.Context;
    assert.throws(() => requireTool(ctx, null, 'helm', true), /helm not found.*CI must have it/);
    const warn = console.warn;
    const warnings: string[] = [];
    console.warn = (msg: string) => warnings.push(msg);
    try {
      assert.throws(() => requireTool(ctx, null, 'helm', false), /skipped/);
    } finally {
      console.warn = warn;
    }
    assert.match(warnings.join(''), /SKIPPING .*helm is not installed/);
  });
});
