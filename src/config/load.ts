// Reads config.yaml (optional), applies environment and flag overrides, validates once with the
// strict schema and freezes the result. The only module besides main.ts that looks at the environment
// — and it is handed the environment rather than reading process.env itself.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { LoadError, type ErrorDetail } from '../domain/errors.ts';
import { configSchema, tokenProblem, type Config } from './schema.ts';

export interface ConfigSources {
  /** `--config` */
  configFlag?: string;
  /** `--rules` */
  rulesFlag?: string;
  env: Readonly<Record<string, string | undefined>>;
}

export interface LoadedConfig {
  config: Config;
  /** The config file read, or null for the built-in defaults. */
  file: string | null;
  tokens: { ingest: string[]; read: string[]; admin: string[] };
}

type Obj = Record<string, unknown>;

function issuesToDetails(issues: z.core.$ZodIssue[]): ErrorDetail[] {
  return issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => (path ? `${path}.${k}` : k));
      return { path: keys.join(', '), message: `unknown key${keys.length > 1 ? 's' : ''}` };
    }
    return { path, message: issue.message };
  });
}

function section(raw: Obj, key: string): Obj {
  const existing = raw[key];
  if (existing === undefined || existing === null) {
    const fresh: Obj = {};
    raw[key] = fresh;
    return fresh;
  }
  return existing as Obj;
}

/** Environment overrides (DESIGN §8); applied before validation so they are validated too. */
function applyOverrides(raw: Obj, sources: ConfigSources): void {
  const { env } = sources;
  if (env.KS_ROLE) raw.role = env.KS_ROLE;
  if (env.KS_LISTEN) section(raw, 'web').listen = env.KS_LISTEN;
  const rules = sources.rulesFlag ?? env.KS_RULES;
  if (rules) raw.rules_file = rules;
  if (env.DATABASE_URL) {
    const store = section(raw, 'store');
    store.url = env.DATABASE_URL;
    // A database URL only makes sense for PostgreSQL; say so explicitly rather than ignore it.
    store.type ??= 'postgres';
  }
}

async function readTokenFile(file: string, key: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new LoadError(file, [{ path: key, message: `cannot read token file: ${(err as Error).message}` }]);
  }
  const lines = text.split('\n').map((l, i) => ({ token: l.trim(), line: i + 1 })).filter((l) => l.token !== '' && !l.token.startsWith('#'));
  for (const { token, line } of lines) {
    const problem = tokenProblem(token);
    if (problem) throw new LoadError(file, [{ path: `${key} line ${line}`, message: problem }]);
  }
  return lines.map((l) => l.token);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export async function loadConfig(sources: ConfigSources): Promise<LoadedConfig> {
  const file = sources.configFlag ?? sources.env.KS_CONFIG ?? null;
  let raw: Obj = {};
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new LoadError(file, [{ path: '', message: `cannot read config file: ${(err as Error).message}` }]);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (err) {
      throw new LoadError(file, [{ path: '', message: `invalid YAML: ${(err as Error).message}` }]);
    }
    if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed))) {
      throw new LoadError(file, [{ path: '', message: 'the config file must be a YAML mapping' }]);
    }
    raw = (parsed as Obj | null) ?? {};
  }
  applyOverrides(raw, sources);
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new LoadError(file ?? '(defaults + environment)', issuesToDetails(result.error.issues));
  const config = result.data;
  if (config.store.type === 'postgres' && !config.store.url) {
    throw new LoadError(file ?? '(defaults + environment)', [{ path: 'store.url', message: 'store.type postgres needs store.url or DATABASE_URL' }]);
  }
  if (Boolean(config.tls.cert_file) !== Boolean(config.tls.key_file)) {
    throw new LoadError(file ?? '(defaults + environment)', [{ path: 'tls', message: 'cert_file and key_file must be given together' }]);
  }
  const auth = config.auth;
  const fromFile = async (f: string | undefined, key: string) => (f ? readTokenFile(f, key) : []);
  const tokens = {
    ingest: [...auth.ingest_tokens, ...(await fromFile(auth.ingest_tokens_file, 'auth.ingest_tokens_file'))],
    read: [...auth.read_tokens, ...(await fromFile(auth.read_tokens_file, 'auth.read_tokens_file'))],
    admin: [...auth.admin_tokens, ...(await fromFile(auth.admin_tokens_file, 'auth.admin_tokens_file'))],
  };
  return deepFreeze({ config, file, tokens });
}
