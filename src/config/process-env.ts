// The environment inputs that are not config keys: the log level and the pause between SIGTERM and
// draining. Validated like the config file — a typo is a clear startup error naming the variable,
// never a silent fallback (a bad delay used to become 5 s without a word).
import { LoadError } from '../domain/errors.ts';
import { parseDuration } from './duration.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

/** Long enough for every endpoint controller to take the pod out; never so long a drain outlives its grace. */
const MAX_SHUTDOWN_DELAY_MS = 10 * 60_000;
const DEFAULT_SHUTDOWN_DELAY = '5s';

export interface ProcessSettings {
  logLevel: LogLevel;
  shutdownDelayMs: number;
}

export function readProcessEnv(env: Readonly<Record<string, string | undefined>>): ProcessSettings {
  const issues: Array<{ path: string; message: string }> = [];
  const level = env.LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) issues.push({ path: 'LOG_LEVEL', message: `must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}` });
  const rawDelay = env.KS_SHUTDOWN_DELAY ?? DEFAULT_SHUTDOWN_DELAY;
  const delay = parseDuration(rawDelay);
  if (delay === null || delay > MAX_SHUTDOWN_DELAY_MS) {
    issues.push({ path: 'KS_SHUTDOWN_DELAY', message: `must be a duration from 0s to 10m such as 5s, got ${JSON.stringify(rawDelay)}` });
  }
  if (issues.length > 0) throw new LoadError('environment', issues);
  return { logLevel: level as LogLevel, shutdownDelayMs: delay! };
}
