// PostgreSQL V6: the pg_trgm index on error_group_search becomes the operator's choice (issue #12).
// Measured with bench/ha.ts on 2 cores: with the index, q= at 100k groups took p50 11 ms / p99 29 ms,
// but ingest of new alerts fell to about a third (one replica, 64-alert posts: 1.6k alerts/s against
// 4.8k before), since every new group inserts about a thousand trigrams of its message into the GIN
// index inside the ingest transaction. Ingest is what an alert storm needs; search can wait. Without
// the index q= scans the narrow search table instead of every group row. To trade ingest for search:
//   CREATE INDEX CONCURRENTLY error_group_search_trgm ON error_group_search USING gin (text gin_trgm_ops);
export const SEARCH_OPTIN_SCHEMA = `
DROP INDEX IF EXISTS error_group_search_trgm;
`;
