// PostgreSQL V8: group totals kept as the groups change, so the dashboard's listing total and the
// statistics no longer count 100k groups per request (issue #12). At 100k groups the exact count(*)
// behind every unfiltered listing took 6 ms of a 10 ms budget, and the GROUP BY behind /api/stats
// 74 ms. Statement-level triggers with transition tables add each statement's inserted, deleted and
// re-classified groups to error_group_totals; re-sent alerts that change none of the three keys write
// nothing.
//
// Shards: each writing connection adds to its own rows (shard = its backend pid). Two transactions in
// flight are never on the same backend, so concurrent batches of one replica, and of every replica,
// never wait on each other's counter rows until commit, and lock them in one order (the keys sorted)
// within a statement. Reading sums the shards. COMPACT_TOTALS (retention, hourly) folds every shard
// nobody holds into shard 0, which no backend has as its pid, so the rows do not grow with
// reconnections. The first fill runs under a lock that keeps writers out until the triggers exist.
export const TOTALS_SCHEMA = `
CREATE TABLE error_group_totals (
  priority text COLLATE "C" NOT NULL,
  status text NOT NULL,
  source text NOT NULL,
  shard integer NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (priority, status, source, shard)
);
CREATE FUNCTION error_group_totals_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO error_group_totals AS t (priority, status, source, shard, n)
      SELECT priority, status, source, pg_backend_pid(), count(*) FROM added GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT (priority, status, source, shard) DO UPDATE SET n = t.n + excluded.n;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO error_group_totals AS t (priority, status, source, shard, n)
      SELECT priority, status, source, pg_backend_pid(), -count(*) FROM removed GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT (priority, status, source, shard) DO UPDATE SET n = t.n + excluded.n;
  ELSE
    INSERT INTO error_group_totals AS t (priority, status, source, shard, n)
      SELECT priority, status, source, pg_backend_pid(), sum(d) FROM (
        SELECT o.priority, o.status, o.source, -1 AS d FROM removed o JOIN added a USING (id)
          WHERE (o.priority, o.status, o.source) IS DISTINCT FROM (a.priority, a.status, a.source)
        UNION ALL
        SELECT a.priority, a.status, a.source, 1 FROM removed o JOIN added a USING (id)
          WHERE (o.priority, o.status, o.source) IS DISTINCT FROM (a.priority, a.status, a.source)
      ) AS moved GROUP BY 1, 2, 3 HAVING sum(d) <> 0 ORDER BY 1, 2, 3
      ON CONFLICT (priority, status, source, shard) DO UPDATE SET n = t.n + excluded.n;
  END IF;
  RETURN NULL;
END $$;
LOCK TABLE error_groups IN SHARE ROW EXCLUSIVE MODE;
CREATE TRIGGER error_group_totals_insert AFTER INSERT ON error_groups
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION error_group_totals_add();
CREATE TRIGGER error_group_totals_update AFTER UPDATE ON error_groups
  REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION error_group_totals_add();
CREATE TRIGGER error_group_totals_delete AFTER DELETE ON error_groups
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION error_group_totals_add();
INSERT INTO error_group_totals (priority, status, source, shard, n)
  SELECT priority, status, source, 0, count(*) FROM error_groups GROUP BY 1, 2, 3;
`;

/**
 * Folds every shard row no transaction holds into shard 0 (SKIP LOCKED: a batch writing its row right
 * now keeps it, and this never waits on ingest). A backend whose row was folded starts a new one.
 */
export const COMPACT_TOTALS = `WITH folded AS (
    DELETE FROM error_group_totals WHERE (priority, status, source, shard) IN (
      SELECT priority, status, source, shard FROM error_group_totals WHERE shard <> 0 FOR UPDATE SKIP LOCKED)
    RETURNING priority, status, source, n
  )
  INSERT INTO error_group_totals AS t (priority, status, source, shard, n)
    SELECT priority, status, source, 0, sum(n) FROM folded GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (priority, status, source, shard) DO UPDATE SET n = t.n + excluded.n`;
