// Keeps the README honest: its error-code table and config reference must match the code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configSchema } from '../src/config/schema.ts';
import { ERROR_CATALOGUE } from '../src/domain/errors.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** Leaf keys of the config schema as dotted paths, e.g. `web.listen`, `store.retention`. */
function configKeys(): string[] {
  const defaults = configSchema.parse({}) as Record<string, unknown>;
  const shape = (configSchema as unknown as { shape: Record<string, { _zod?: unknown }> }).shape;
  const keys: string[] = [];
  for (const top of Object.keys(shape)) {
    const value = defaults[top];
    const inner = (shape[top] as unknown as { _zod: { def: { innerType?: { shape?: object }; in?: { _zod: { def: { innerType?: { shape?: object } } } } } } })._zod.def;
    const objShape = inner.innerType?.shape ?? inner.in?._zod.def.innerType?.shape;
    if (objShape) for (const k of Object.keys(objShape)) keys.push(`${top}.${k}`);
    else keys.push(top);
    void value;
  }
  return keys;
}

describe('README stays in sync with the code', () => {
  it('lists every error code with its HTTP status', () => {
    for (const [code, { status }] of Object.entries(ERROR_CATALOGUE)) {
      assert.match(readme, new RegExp(`\\| \`${code}\` \\| ${status} \\|`), `README error table lacks ${code} (${status})`);
    }
  });

  it('documents every config key', () => {
    const keys = configKeys();
    assert.ok(keys.length > 25, `expected the full key list, got ${keys.join(', ')}`);
    for (const key of keys) {
      const leaf = key.split('.').pop()!;
      assert.ok(readme.includes(`\`${key}\``) || readme.includes(`\`${leaf}\``), `README config reference lacks ${key}`);
    }
  });
});
