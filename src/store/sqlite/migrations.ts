// Versioned schema for the SQLite store. PRAGMA user_version holds the applied version; pending
// migrations run together in one IMMEDIATE transaction, so a crash mid-upgrade leaves the old schema.
// Append new migrations; never edit one that has shipped.
import type { DatabaseSync } from 'node:sqlite';
import { LoadError } from '../../domain/errors.ts';
import { OUTBOX_SCHEMA } from './outbox-schema.ts';
import { LOOP_SCHEMA } from './loop-schema.ts';
import { KEYS_BY_GROUP_SCHEMA } from './keys-schema.ts';
import { SEARCH_DEFERRED_SCHEMA, SEARCH_QUEUE_SCHEMA, SEARCH_SCHEMA } from './search-schema.ts';
import { CLAIM_ORDER_SCHEMA } from '../claim-order-schema.ts';
import { SHARED_REQUEST_SCHEMA } from '../request-sharing.ts';
import { OTHER_GROUPS_SCHEMA } from '../other-groups-schema.ts';
import { COMPACT_SCHEMA } from './compact-schema.ts';
import { DROP_FINGERPRINT_INDEX } from './fingerprint-schema.ts';

/** A schema step: SQL text, or a function for a rebuild that must read the schema it rebuilds. */
type Migration = string | ((db: DatabaseSync) => void);

// Times are epoch milliseconds (INTEGER); JSON columns hold TEXT.
const V1 = `
CREATE TABLE error_groups (
  id INTEGER PRIMARY KEY,
  fingerprint TEXT NOT NULL UNIQUE,
  alert_fingerprint TEXT,
  source TEXT NOT NULL,
  priority TEXT NOT NULL,
  rule TEXT,
  status TEXT NOT NULL CHECK (status IN ('firing', 'resolved')),
  title TEXT NOT NULL,
  message TEXT NOT NULL,
  namespace TEXT NOT NULL,
  pod TEXT NOT NULL,
  container TEXT NOT NULL,
  workload TEXT NOT NULL,
  labels TEXT NOT NULL,
  count INTEGER NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  resolved_at INTEGER,
  expires_at INTEGER,
  why TEXT NOT NULL,
  remediation_action TEXT,
  remediation_outcome TEXT
);
-- Few indexes on purpose: an upsert rewrites every index on a column its SET names, and redeliveries
-- touch last_seen on every group they see. These two serve the default order (P1 first, newest first),
-- sort by lastSeen, the since filter and retention. The other filters (namespace, rule, status, …) scan
-- the table, which retention keeps to tens of thousands of rows: milliseconds, paid only by readers.
CREATE INDEX error_groups_priority_last_seen ON error_groups (priority, last_seen DESC, id DESC);
CREATE INDEX error_groups_last_seen ON error_groups (last_seen DESC, id DESC);

-- Dedup memory, scoped to the group: a rules change that moves a signal to another group starts fresh.
CREATE TABLE occurrence_keys (
  fingerprint TEXT NOT NULL,
  key TEXT NOT NULL,
  group_id INTEGER NOT NULL REFERENCES error_groups (id) ON DELETE CASCADE,
  seen_count INTEGER NOT NULL,
  state TEXT NOT NULL,
  last_seen INTEGER NOT NULL,
  PRIMARY KEY (fingerprint, key)
) WITHOUT ROWID;
CREATE INDEX occurrence_keys_group ON occurrence_keys (group_id);
CREATE INDEX occurrence_keys_last_seen ON occurrence_keys (last_seen);

CREATE TABLE occurrences (
  id INTEGER PRIMARY KEY,
  group_id INTEGER NOT NULL REFERENCES error_groups (id) ON DELETE CASCADE,
  at INTEGER NOT NULL,
  channel TEXT NOT NULL,
  message TEXT NOT NULL,
  count INTEGER NOT NULL,
  labels TEXT NOT NULL
);
CREATE INDEX occurrences_group ON occurrences (group_id, id DESC);

-- Per-minute totals: trimmed occurrence rows cannot answer "occurrences in the last hour".
CREATE TABLE occurrence_minutes (
  minute INTEGER PRIMARY KEY,
  count INTEGER NOT NULL
);

CREATE TABLE remediation_requests (
  id INTEGER PRIMARY KEY,
  group_id INTEGER NOT NULL REFERENCES error_groups (id) ON DELETE CASCADE,
  fingerprint TEXT NOT NULL,
  rule TEXT NOT NULL,
  action TEXT NOT NULL,
  params TEXT NOT NULL,
  cooldown_ms INTEGER NOT NULL,
  namespace TEXT NOT NULL,
  pod TEXT NOT NULL,
  container TEXT NOT NULL,
  owner TEXT,
  created_at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'claimed', 'done', 'escalated')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  claimed_by TEXT,
  claimed_until INTEGER,
  last_error TEXT
);
-- claimRequest(): the two ways a request is due, each an index range.
CREATE INDEX remediation_requests_pending ON remediation_requests (next_attempt_at) WHERE state = 'pending';
CREATE INDEX remediation_requests_claimed ON remediation_requests (claimed_until) WHERE state = 'claimed';
CREATE INDEX remediation_requests_group ON remediation_requests (group_id, state);

-- No foreign key to error_groups: the audit trail outlives pruned groups until its own retention.
CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  request_id INTEGER,
  group_id INTEGER,
  at INTEGER NOT NULL,
  rule TEXT NOT NULL,
  action TEXT NOT NULL,
  namespace TEXT NOT NULL,
  target TEXT NOT NULL,
  outcome TEXT NOT NULL,
  reason TEXT NOT NULL,
  message TEXT NOT NULL,
  actor TEXT NOT NULL,
  cooldown_key TEXT NOT NULL
);
CREATE INDEX audit_cooldown ON audit (cooldown_key, outcome, at);
CREATE INDEX audit_outcome_at ON audit (outcome, at);
CREATE INDEX audit_at ON audit (at DESC);
CREATE INDEX audit_group ON audit (group_id, at DESC);

CREATE TABLE settings (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  enabled INTEGER NOT NULL,
  dry_run INTEGER NOT NULL,
  max_actions_per_hour INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
`;

// V9, the housekeeping indexes, sized to how often each query runs (issue #12):
// - Expiry finds the firing groups past their deadline through an index, as on PostgreSQL, instead of
//   reading every group every 30 s inside a write transaction (180 ms of the single writer at 100k
//   groups, so ingest and reads stalled that long twice a minute).
// - The dedup keys lose their last_seen index: only the hourly retention read it, and every new alert
//   and every re-send wrote it. Retention now reads the keys (6.7 ms per 100k keys, once an hour).
const HOUSEKEEPING_INDEX_SCHEMA = `
CREATE INDEX error_groups_expiry ON error_groups (expires_at) WHERE status = 'firing';
DROP INDEX IF EXISTS occurrence_keys_last_seen;
`;

// V2: the notification outbox (src/store/outbox.ts).
// V4: dedup keys by (group_id, key), so new groups append (src/store/sqlite/keys-schema.ts).
// V5: the FTS5 trigram index for q= (src/store/sqlite/search-schema.ts).
// V6: reasons stored once, occurrences "as the group" (src/store/sqlite/compact-schema.ts).
// V7: new groups reach the search index after their commit (src/store/sqlite/search-schema.ts).
// V8: the remediation claim walks an index in claim order (src/store/claim-order-schema.ts).
// V9: the housekeeping indexes (above).
// V10: no fingerprint index; the writer keeps its own directory (src/store/sqlite/fingerprint-schema.ts).
// V11: the search index in a file of its own (src/store/sqlite/search-schema.ts, search-file.ts).
// V12: new groups about one target share its queued remediation request (src/store/request-sharing.ts).
// V13: an outcome check watches the rule's other groups about the pod (src/store/other-groups-schema.ts).
export const MIGRATIONS: readonly Migration[] = [
  V1, OUTBOX_SCHEMA, LOOP_SCHEMA, KEYS_BY_GROUP_SCHEMA, SEARCH_SCHEMA, COMPACT_SCHEMA, SEARCH_DEFERRED_SCHEMA, CLAIM_ORDER_SCHEMA,
  HOUSEKEEPING_INDEX_SCHEMA, DROP_FINGERPRINT_INDEX, SEARCH_QUEUE_SCHEMA, SHARED_REQUEST_SCHEMA, OTHER_GROUPS_SCHEMA,
];

const SCHEMA_VERSION = MIGRATIONS.length;

function currentVersion(db: DatabaseSync): number {
  const row = db.prepare('PRAGMA user_version').get() as { user_version: number };
  return row.user_version;
}

function tooNew(file: string, version: number): LoadError {
  return new LoadError(file, [{
    path: 'store.path',
    message: `schema version ${version} is newer than this release understands (${SCHEMA_VERSION}); upgrade kube-sentinel`,
  }]);
}

/** Brings the schema to SCHEMA_VERSION; refuses a database written by a newer release. */
export function migrate(db: DatabaseSync, file: string): void {
  upgrade(db, SCHEMA_VERSION, (from) => {
    if (from > SCHEMA_VERSION) throw tooNew(file, from);
  });
}

/** Tests: a database at an older schema version, as an earlier release left it. */
export function migrateTo(db: DatabaseSync, version: number): void {
  upgrade(db, version, () => {});
}

/**
 * Applies the pending migrations up to `to` in one IMMEDIATE transaction. Foreign keys are off while
 * it runs (SQLite's documented table rebuild: dropping a parent table with them on would delete its
 * children) and checked before the commit; the setting cannot change inside a transaction.
 */
function upgrade(db: DatabaseSync, to: number, check: (from: number) => void): void {
  const fk = (db.prepare('PRAGMA foreign_keys').get() as { foreign_keys: number }).foreign_keys;
  db.exec('PRAGMA foreign_keys = OFF');
  db.exec('BEGIN IMMEDIATE');
  try {
    const from = currentVersion(db);
    check(from);
    for (let v = from; v < to; v++) {
      const m = MIGRATIONS[v];
      if (typeof m === 'string') db.exec(m);
      else m(db);
    }
    if (from < to) {
      const broken = db.prepare('PRAGMA foreign_key_check').all();
      if (broken.length > 0) throw new Error(`schema upgrade left ${broken.length} broken foreign key reference(s)`);
      // PRAGMA takes no bound parameters; the value is our own integer.
      db.exec(`PRAGMA user_version = ${to}`);
    }
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  } finally {
    db.exec(`PRAGMA foreign_keys = ${fk ? 'ON' : 'OFF'}`);
  }
}

/** A read-only session cannot migrate; it can only insist the writer already did. */
export function assertMigrated(db: DatabaseSync, file: string): void {
  const v = currentVersion(db);
  if (v > SCHEMA_VERSION) throw tooNew(file, v);
  if (v !== SCHEMA_VERSION) {
    throw new LoadError(file, [{
      path: 'store.path',
      message: `schema version ${v}, expected ${SCHEMA_VERSION}; start a writer (role all/webhook) first to migrate`,
    }]);
  }
}
