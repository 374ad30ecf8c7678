// An in-process app on a throwaway SQLite store with the shipped default rules, for supertest.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createApp, type App, type AppDeps } from '../../src/app.ts';
import { defaultRulesPath } from '../../src/classify/defaults.ts';
import { loadRulesFile } from '../../src/classify/load.ts';
import type { CompiledRuleSet } from '../../src/classify/compile.ts';
import { configSchema, type ConfigInput } from '../../src/config/schema.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import type { Store } from '../../src/store/types.ts';
import { ADMIN_TOKEN, INGEST_TOKEN, READ_TOKEN } from './server-proc.ts';

export { ADMIN_TOKEN, INGEST_TOKEN, READ_TOKEN };

let defaultRules: Promise<CompiledRuleSet> | null = null;
function loadDefaultRules(): Promise<CompiledRuleSet> {
  defaultRules ??= loadRulesFile(defaultRulesPath());
  return defaultRules;
}

export interface TestApp {
  app: App;
  store: Store;
  logs: string[];
  close(): Promise<void>;
}

export async function makeApp(opts: { config?: ConfigInput; deps?: Partial<AppDeps>; store?: Store; tokens?: AppDeps['tokens'] } = {}): Promise<TestApp> {
  const config = configSchema.parse(opts.config ?? {});
  const store = opts.store ?? new SqliteStore({ path: join(mkdtempSync(join(tmpdir(), 'ks-app-')), 'ks.db'), maxOccurrences: 20 });
  await store.migrate();
  const rules = await loadDefaultRules();
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', destination: new Writable({ write(chunk, _enc, cb) { logs.push(String(chunk)); cb(); } }) });
  const app = createApp(config, {
    store, rules: () => rules, logger, metrics: new Metrics({ groupCounts: () => store.stats(Date.now()) }),
    tokens: opts.tokens ?? { ingest: [INGEST_TOKEN], read: [READ_TOKEN], admin: [ADMIN_TOKEN] },
    ...opts.deps,
  });
  return { app, store, logs, close: async () => { await app.close(); await store.close(); } };
}
