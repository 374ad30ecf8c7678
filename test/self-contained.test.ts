// A clone of this repository alone must pass its tests, run its bench and follow its README: nothing
// may read files from beside the checkout (a sibling `shared/` folder, a developer's home, /work).
// Static, so it also catches references in code paths a particular machine happens to skip.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

const inside = (p: string) => {
  const rel = relative(ROOT, p);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && !/^[a-z]:/i.test(rel));
};

/** Every problem in one file: a path that resolves outside ROOT, or a literal naming such a place. */
export function outsideReferences(file: string, text: string): string[] {
  const found: string[] = [];
  const dir = dirname(file);
  // Spelled in pieces so this file does not flag itself.
  const forbidden = ['shared' + '/samples', '/wo' + 'rk/', '../' + 'shared'];
  for (const word of forbidden) if (text.includes(word)) found.push(`mentions "${word}"`);
  // new URL('<relative>', import.meta.url): the static prefix must stay inside the repository.
  for (const m of text.matchAll(/new URL\(\s*['"`]([^'"`$]*)/g)) {
    if (/^[a-z]+:/i.test(m[1])) continue;
    if (!inside(resolve(dir, m[1]))) found.push(`new URL("${m[1]}") leaves the repository`);
  }
  // join/resolve(ROOT, '<relative>'): the same, against the repository root.
  for (const m of text.matchAll(/(?:join|resolve)\(\s*ROOT\s*,\s*['"`]([^'"`$]*)/g)) {
    if (!inside(resolve(ROOT, m[1]))) found.push(`ROOT + "${m[1]}" leaves the repository`);
  }
  return found;
}

describe('the repository stands on its own', () => {
  const files = [
    ...walk(join(ROOT, 'test')), ...walk(join(ROOT, 'bench')), ...walk(join(ROOT, 'docs')),
    join(ROOT, 'README.md'), join(ROOT, 'package.json'), join(ROOT, '.ci', 'run'),
  ].filter((f) => /\.(ts|js|cjs|mjs|sh|md|json|yaml|yml)$|\/run$/.test(f));

  it('tests, bench, docs and README read nothing outside the checkout', () => {
    assert.ok(files.length > 50, `expected to scan the test tree, found ${files.length} files`);
    const problems: string[] = [];
    for (const f of files) {
      for (const p of outsideReferences(f, readFileSync(f, 'utf8'))) problems.push(`${relative(ROOT, f)}: ${p}`);
    }
    assert.deepEqual(problems, []);
  });

  it('the README\'s shell examples use repository paths only', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
    assert.ok(blocks.length >= 2);
    const escapes = blocks.flatMap((b) => [...b.matchAll(/(?:^|[\s<>=])(\.\.\/\S*)/g)].map((m) => m[1]));
    assert.deepEqual(escapes, []);
  });

  it('the detector itself catches the ways a test reaches outside', () => {
    const probe = join(ROOT, 'test', 'http', 'x.test.ts');
    // Built from pieces so the scan of this very file does not see them.
    const url = (rel: string) => `new ${'URL'}('${rel}', import.meta.url)`;
    assert.ok(outsideReferences(probe, url('../../../elsewhere/a.json')).length > 0);
    assert.ok(outsideReferences(probe, `readFileSync(join(${'ROOT'}, '../elsewhere/a.json'))`).length > 0);
    assert.ok(outsideReferences(probe, `readFileSync('${'/wo' + 'rk/'}x')`).length > 0);
    assert.deepEqual(outsideReferences(probe, url('../fixtures/a.json')), []);
    assert.deepEqual(outsideReferences(probe, "join(ROOT, 'test/fixtures/a.json')"), []);
  });

  it('the captured samples live in test/fixtures with the headers they arrived with', () => {
    for (const name of ['prometheus-v2-alerts', 'alertmanager-webhook']) {
      const headers = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', `${name}.headers.json`), 'utf8'));
      const body = readFileSync(join(ROOT, 'test', 'fixtures', `${name}.json`));
      assert.equal(headers.bodyBytes, body.length, `${name}.json is the body described by its headers file`);
    }
  });
});
