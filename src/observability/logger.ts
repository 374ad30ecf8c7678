// pino JSON logs. Tokens and credentials are redacted wherever they appear in logged objects, and
// URLs with passwords (DATABASE_URL) are scrubbed before they are ever handed to the logger.
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

const REDACT_PATHS = [
  'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization',
  'token', '*.token', 'tokens', '*.tokens', 'password', '*.password',
  'ingest_tokens', 'read_tokens', 'admin_tokens', '*.ingest_tokens', '*.read_tokens', '*.admin_tokens',
  'url', '*.url', 'read_url', '*.read_url',
];

export function createLogger(opts: { level?: string; destination?: DestinationStream; base?: Record<string, unknown> } = {}): Logger {
  return pino({
    level: opts.level ?? 'info',
    base: opts.base ?? {},
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }, opts.destination);
}

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db`, for messages that must name a URL. */
export function scrubUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}
