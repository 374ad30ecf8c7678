// Throwaway PostgreSQL databases for tests: each test gets its own database, copied from a template
// migrated once per run (CREATE DATABASE … TEMPLATE is a file copy, much cheaper than migrating).
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { PostgresStore } from '../../src/store/postgres/store.ts';
import { requireComponent } from '../support/proc.ts';

/** Maintenance connection (trust auth in CI). */
export const PG_ADMIN_URL = process.env.KS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(name: string, base = PG_ADMIN_URL): string {
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  c.on('error', () => {});
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

export async function postgresAvailable(): Promise<boolean> {
  try {
    await admin((c) => c.query('SELECT 1'));
    return true;
  } catch {
    return false;
  }
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export class TestDatabases {
  readonly #prefix = `ks_${randomBytes(4).toString('hex')}`;
  #template: Promise<string> | null = null;
  #made = 0;

  /** An empty database; `migrated` copies the migrated template instead. */
  async create(opts: { migrated?: boolean } = {}): Promise<TestDatabase> {
    const name = `${this.#prefix}_${++this.#made}`;
    const template = opts.migrated ? await this.#migratedTemplate() : 'template0';
    await admin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
    return { name, url: databaseUrl(name), drop: () => dropDatabase(name) };
  }

  #migratedTemplate(): Promise<string> {
    this.#template ??= (async () => {
      const name = `${this.#prefix}_template`;
      await admin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE template0`));
      const store = new PostgresStore({ url: databaseUrl(name), maxOccurrences: 1 });
      try {
        await store.migrate();
      } finally {
        await store.close();
      }
      return name;
    })();
    return this.#template;
  }

  async dispose(): Promise<void> {
    if (this.#template) await dropDatabase(await this.#template.catch(() => `${this.#prefix}_template`));
  }
}

function dropDatabase(name: string): Promise<void> {
  return admin(async (c) => { await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); });
}

/** What migratedDatabasePerTest() gives each test. */
export interface DatabaseUnderTest {
  db: TestDatabase;
  /** A client connected to db, for looking at what the store wrote. */
  sql: Client;
}

/**
 * Mocha hooks for a suite on PostgreSQL: it needs the server (failing in CI, skipping locally), and each
 * test gets a freshly migrated database with a client on it. `cleanup` runs before the database goes
 * (close the test's stores there). Read the fields inside tests and hooks: they change per test.
 */
export function migratedDatabasePerTest(cleanup: () => Promise<void> = async () => {}): DatabaseUnderTest {
  const dbs = new TestDatabases();
  const current = {} as DatabaseUnderTest;
  before(async function () {
    requireComponent(this, 'PostgreSQL at 127.0.0.1:5432 (KS_TEST_PG_URL)', await postgresAvailable());
  });
  beforeEach(async () => {
    current.db = await dbs.create({ migrated: true });
    current.sql = new Client({ connectionString: current.db.url });
    await current.sql.connect();
  });
  afterEach(async () => {
    await cleanup();
    await current.sql.end();
    await current.db.drop();
  });
  after(() => dbs.dispose());
  return current;
}
