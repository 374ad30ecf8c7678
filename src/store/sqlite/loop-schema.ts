// Schema for the closed remediation loop (DESIGN §6a) on SQLite: new request states and columns,
// the intent log, outcome verifications and suspensions. SQLite cannot alter a CHECK constraint, so
// remediation_requests is rebuilt (create, copy, drop, rename: SQLite's documented procedure);
// nothing references it by foreign key.
export const LOOP_SCHEMA = `
CREATE TABLE remediation_requests_v3 (
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
  state TEXT NOT NULL CHECK (state IN ('pending', 'awaiting-approval', 'claimed', 'done', 'escalated', 'expired',
    'rejected', 'suspended')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  claimed_by TEXT,
  claimed_until INTEGER,
  last_error TEXT,
  plan TEXT,
  approval_expires_at INTEGER,
  approved INTEGER NOT NULL DEFAULT 0,
  decided_by TEXT,
  decision_comment TEXT,
  force INTEGER NOT NULL DEFAULT 0,
  requested_by TEXT
);
INSERT INTO remediation_requests_v3 (id, group_id, fingerprint, rule, action, params, cooldown_ms, namespace, pod,
    container, owner, created_at, state, attempts, next_attempt_at, claimed_by, claimed_until, last_error)
  SELECT id, group_id, fingerprint, rule, action, params, cooldown_ms, namespace, pod, container, owner, created_at,
    state, attempts, next_attempt_at, claimed_by, claimed_until, last_error FROM remediation_requests;
DROP TABLE remediation_requests;
ALTER TABLE remediation_requests_v3 RENAME TO remediation_requests;
CREATE INDEX remediation_requests_pending ON remediation_requests (next_attempt_at) WHERE state = 'pending';
CREATE INDEX remediation_requests_claimed ON remediation_requests (claimed_until) WHERE state = 'claimed';
CREATE INDEX remediation_requests_group ON remediation_requests (group_id, state);
CREATE INDEX remediation_requests_awaiting ON remediation_requests (approval_expires_at) WHERE state = 'awaiting-approval';
CREATE INDEX remediation_requests_state ON remediation_requests (state, id DESC);

-- Written in its own commit before each mutating call; open until the API answered or a successor
-- settled it against the live object.
CREATE TABLE remediation_intents (
  id INTEGER PRIMARY KEY,
  request_id INTEGER NOT NULL,
  holder TEXT NOT NULL,
  action TEXT NOT NULL,
  namespace TEXT NOT NULL,
  target_kind TEXT NOT NULL,
  target_name TEXT NOT NULL,
  target_uid TEXT NOT NULL,
  expect TEXT NOT NULL,
  summary TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('open', 'done', 'superseded', 'skipped', 'failed')),
  reason TEXT NOT NULL,
  settled_by TEXT,
  settled_at INTEGER
);
CREATE INDEX remediation_intents_open ON remediation_intents (request_id) WHERE state = 'open';

CREATE TABLE remediation_verifications (
  id INTEGER PRIMARY KEY,
  request_id INTEGER NOT NULL,
  group_id INTEGER NOT NULL,
  rule TEXT NOT NULL,
  action TEXT NOT NULL,
  namespace TEXT NOT NULL,
  target TEXT NOT NULL,
  cooldown_key TEXT NOT NULL,
  expect TEXT NOT NULL,
  group_count INTEGER NOT NULL,
  acted_at INTEGER NOT NULL,
  deadline INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('open', 'effective', 'ineffective')),
  decided_at INTEGER
);
CREATE INDEX remediation_verifications_open ON remediation_verifications (deadline) WHERE state = 'open';

CREATE TABLE remediation_suspensions (
  id INTEGER PRIMARY KEY,
  rule TEXT NOT NULL,
  namespace TEXT NOT NULL,
  target TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  reason TEXT NOT NULL,
  lifted_at INTEGER,
  lifted_by TEXT
);
CREATE UNIQUE INDEX remediation_suspensions_active ON remediation_suspensions (rule, namespace, target) WHERE lifted_at IS NULL;
CREATE INDEX audit_outcome_target ON audit (rule, namespace, target, at) WHERE outcome IN ('effective', 'ineffective');

ALTER TABLE settings ADD COLUMN require_approval INTEGER NOT NULL DEFAULT 0;
`;
