// Migration (SQLite V13, PostgreSQL V10): an outcome check keeps the other groups it watches, with
// their counts when the action was taken (NewVerification.others, src/remediate/verify.ts), as JSON
// `[[group id, count], …]`. Same text on both engines.
export const OTHER_GROUPS_SCHEMA = 'ALTER TABLE remediation_verifications ADD COLUMN other_groups text;';
