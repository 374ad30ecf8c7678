// Keeps the README honest: its error-code table and config reference must match the code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { configSchema } from '../src/config/schema.ts';
import { ERROR_CATALOGUE } from '../src/domain/errors.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

interface JsonSchema { properties?: Record<string, JsonSchema> }

/**
 * Keys of the config schema as dotted paths, two levels deep (`web.listen`, `store.retention`,
 * `rules_file`), read from its JSON Schema. The input side: what people write in config.yaml.
 */
function configKeys(): string[] {
  const schema = z.toJSONSchema(configSchema, { io: 'input' }) as JsonSchema;
  const keys: string[] = [];
  for (const [top, section] of Object.entries(schema.properties ?? {})) {
    if (section.properties) for (const k of Object.keys(section.properties)) keys.push(`${top}.${k}`);
    else keys.push(top);
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
