import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { configSchema } from '../../src/config/schema.ts';
import { LoadError } from '../../src/domain/errors.ts';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const load = (file: string | undefined, env: Record<string, string> = {}, rulesFlag?: string) =>
  loadConfig({ configFlag: file, rulesFlag, env });

async function loadError(name: string, env: Record<string, string> = {}): Promise<LoadError> {
  try {
    await load(fixture(name), env);
  } catch (err) {
    assert.ok(err instanceof LoadError, String(err));
    return err;
  }
  throw new Error(`${name} loaded without an error`);
}

describe('config/load', () => {
  it('loads a config that uses every key, converting durations and sizes', async () => {
    const { config, tokens, file } = await load(fixture('good-full.yaml'));
    assert.equal(file, fixture('good-full.yaml'));
    assert.equal(config.role, 'webhook');
    assert.equal(config.web.body_limit, 2 * 1024 * 1024);
    assert.equal(config.store.retention, 72 * 3_600_000);
    assert.deepEqual([config.leader_election.lease_duration, config.leader_election.renew_deadline, config.leader_election.retry_period], [15_000, 10_000, 2_000]);
    assert.equal(config.remediation.max_attempts, 2);
    assert.deepEqual(tokens.admin, ['admin-token-0123456789abcdef']);
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.remediation.excluded_namespaces), 'frozen after validation');
  });

  it('fills the documented defaults (zero-config when no file is given)', async () => {
    const { config, file, tokens } = await load(undefined);
    assert.equal(file, null);
    assert.equal(config.role, 'all');
    assert.equal(config.web.listen, '127.0.0.1:8443');
    assert.equal(config.store.type, 'sqlite');
    assert.equal(config.store.retention, 168 * 3_600_000);
    assert.equal(config.remediation.dry_run, true);
    assert.deepEqual(config.remediation.excluded_namespaces, ['kube-system', 'kube-public', 'kube-node-lease']);
    assert.deepEqual(tokens, { ingest: [], read: [], admin: [] });
    assert.equal((await load(fixture('good-minimal.yaml'))).config.remediation.dry_run, true);
  });

  const bad: Array<[string, RegExp]> = [
    ['bad-unknown-nested-key.yaml', /web\.lisen: unknown key/],
    ['bad-wrong-type.yaml', /remediation\.max_actions_per_hour/],
    ['bad-duration.yaml', /store\.retention: not a duration: "a week"/],
    ['bad-lease-invariants.yaml', /leader_election\.lease_duration: must be greater than renew_deadline.*leader_election\.renew_deadline: must be greater than 1\.2 × retry_period/],
    ['bad-postgres-without-url.yaml', /store\.url: store\.type postgres needs store\.url or DATABASE_URL/],
    ['bad-cert-without-key.yaml', /tls: cert_file and key_file must be given together/],
    ['bad-short-token.yaml', /auth\.ingest_tokens\.0: tokens must be at least 16 characters/],
    ['bad-token-chars.yaml', /auth\.read_tokens\.1: tokens may hold only visible ASCII characters/],
    ['bad-role.yaml', /role/],
    ['bad-not-a-mapping.yaml', /must be a YAML mapping/],
  ];
  for (const [name, message] of bad) {
    it(`rejects ${name}, naming the file and the key`, async () => {
      const err = await loadError(name);
      assert.equal(err.file, fixture(name));
      assert.match(err.message, message);
    });
  }

  it('names a missing config file', async () => {
    await assert.rejects(load('/nonexistent/config.yaml'), (err: unknown) => err instanceof LoadError && /cannot read config file/.test(err.message));
  });

  it('applies environment and flag overrides before validating them', async () => {
    const { config } = await load(fixture('good-minimal.yaml'), {
      KS_ROLE: 'dashboard', KS_LISTEN: '0.0.0.0:9443', KS_RULES: '/env/rules.yaml', DATABASE_URL: 'postgres://x@db/ks',
    });
    assert.equal(config.role, 'dashboard');
    assert.equal(config.web.listen, '0.0.0.0:9443');
    assert.equal(config.rules_file, '/env/rules.yaml');
    assert.equal(config.store.type, 'postgres', 'DATABASE_URL implies PostgreSQL');
    assert.equal(config.store.url, 'postgres://x@db/ks');
    assert.equal((await load(undefined, { KS_RULES: '/env/rules.yaml' }, '/flag/rules.yaml')).config.rules_file, '/flag/rules.yaml', 'the flag wins');
    await assert.rejects(load(undefined, { KS_ROLE: 'boss' }), (err: unknown) => err instanceof LoadError && /role/.test(err.message));
    const viaEnv = await loadConfig({ env: { KS_CONFIG: fixture('good-full.yaml') } });
    assert.equal(viaEnv.config.role, 'webhook');
  });

  it('reads token files (one per line, comments and blanks ignored) and rejects short ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-cfg-'));
    writeFileSync(join(dir, 'ingest'), '# rotated 2026-11\nfirst-token-0123456789abcdef\n\nsecond-token-0123456789abcdef\n');
    writeFileSync(join(dir, 'short'), 'short\n');
    writeFileSync(join(dir, 'c.yaml'), `auth:\n  ingest_tokens: [inline-token-0123456789abcdef]\n  ingest_tokens_file: ${join(dir, 'ingest')}\n`);
    const { tokens } = await load(join(dir, 'c.yaml'));
    assert.deepEqual(tokens.ingest, ['inline-token-0123456789abcdef', 'first-token-0123456789abcdef', 'second-token-0123456789abcdef']);
    writeFileSync(join(dir, 'd.yaml'), `auth:\n  read_tokens_file: ${join(dir, 'short')}\n`);
    await assert.rejects(load(join(dir, 'd.yaml')), (err: unknown) => err instanceof LoadError && /at least 16 characters/.test(err.message));
    // A token a client could never send (a space, a character outside visible ASCII), named by its line in the file.
    for (const bad of ['two words-0123456789abcdef', 'zweites-tökèn-0123456789ab']) {
      writeFileSync(join(dir, 'odd'), `# ok above\nfirst-token-0123456789abcdef\n\n${bad}\n`);
      writeFileSync(join(dir, 'e.yaml'), `auth:\n  admin_tokens_file: ${join(dir, 'odd')}\n`);
      await assert.rejects(load(join(dir, 'e.yaml')), (err: unknown) => err instanceof LoadError
        && /auth\.admin_tokens_file line 4: tokens may hold only visible ASCII characters/.test(err.message), bad);
    }
  });
  it('reads web.body_limit in every documented spelling (k and m are 1024-based) and refuses the rest', () => {
    const size = (v: unknown) => configSchema.safeParse({ web: { body_limit: v } });
    const accepted: Array<[unknown, number]> = [
      [1048576, 1048576], ['1048576', 1048576], ['512b', 512], ['512B', 512], ['512kb', 512 * 1024], ['512KB', 512 * 1024],
      ['1kib', 1024], ['1KiB', 1024], ['1mb', 1048576], ['1MB', 1048576], ['1mib', 1048576], ['1MiB', 1048576],
      ['64 kb', 64 * 1024], [' 2mb ', 2 * 1048576], ['0010kb', 10 * 1024],
    ];
    for (const [input, expected] of accepted) {
      const r = size(input);
      assert.ok(r.success, `${JSON.stringify(input)} is accepted`);
      assert.equal(r.data.web.body_limit, expected, JSON.stringify(input));
    }
    for (const input of ['1gb', '1.5mb', '12abc', '1k', '1m', '1kbb', '-1mb', '+1mb', 'mb', '', 'one mb', 0, -1, 1.5]) {
      const r = size(input);
      assert.equal(r.success, false, `${JSON.stringify(input)} is refused`);
      if (typeof input === 'string') assert.match(r.error.issues[0].message, /not a size: ".*" \(use e\.g\. 1mb, 512kb\)/);
    }
  });
});
