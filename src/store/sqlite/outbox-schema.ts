// Schema of the notification outbox (SQLite), appended to MIGRATIONS in migrations.ts. No foreign key
// to error_groups: a delivery's record outlives a pruned group until its own retention.
export const OUTBOX_SCHEMA = `
CREATE TABLE notification_events (
  id INTEGER PRIMARY KEY,
  group_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  at INTEGER NOT NULL,
  detail TEXT NOT NULL,
  planned_at INTEGER
);
CREATE INDEX notification_events_unplanned ON notification_events (id) WHERE planned_at IS NULL;
CREATE INDEX notification_events_at ON notification_events (at);

CREATE TABLE notification_deliveries (
  id INTEGER PRIMARY KEY,
  route TEXT NOT NULL,
  receiver TEXT NOT NULL,
  kind TEXT NOT NULL,
  group_ids TEXT NOT NULL,
  message TEXT NOT NULL,
  detailed INTEGER NOT NULL,
  suppressed INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  claimed_by TEXT,
  claimed_until INTEGER,
  sent_at INTEGER,
  last_error TEXT
);
CREATE INDEX notification_deliveries_pending ON notification_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX notification_deliveries_sending ON notification_deliveries (claimed_until) WHERE state = 'sending';
-- Per-receiver FIFO: a delivery waits while an older one to the same receiver is unfinished.
CREATE INDEX notification_deliveries_open ON notification_deliveries (receiver, id) WHERE state IN ('pending', 'sending');
CREATE INDEX notification_deliveries_rate ON notification_deliveries (route, receiver, created_at);
CREATE INDEX notification_deliveries_created ON notification_deliveries (created_at DESC, id DESC);

-- Which deliveries mention a group: the error page lists them.
CREATE TABLE notification_delivery_groups (
  group_id INTEGER NOT NULL,
  delivery_id INTEGER NOT NULL REFERENCES notification_deliveries (id) ON DELETE CASCADE,
  PRIMARY KEY (group_id, delivery_id)
) WITHOUT ROWID;

CREATE TABLE notification_marks (
  receiver TEXT NOT NULL,
  group_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  priority TEXT NOT NULL,
  at INTEGER NOT NULL,
  repeat_at INTEGER,
  PRIMARY KEY (receiver, group_id)
) WITHOUT ROWID;
CREATE INDEX notification_marks_repeat ON notification_marks (repeat_at) WHERE repeat_at IS NOT NULL;
`;
