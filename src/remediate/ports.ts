// Small interfaces remediation needs from its surroundings, injected by the app (src/app wiring):
// a pino-compatible logger, optional metrics, and time. Nothing here is a singleton.

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** Implemented by the app with prom-client; every method is optional to call sites via `?.`. */
export interface RemediationMetrics {
  /** One per audited decision: outcome is the audit outcome, reason the named reason ('' when none). */
  onDecision(action: string, outcome: string, reason: string): void;
  /** One per checked outcome (DESIGN §6a): effective or ineffective. */
  onOutcome?(action: string, outcome: string): void;
  /** 1 while this replica holds the Lease, 0 otherwise. */
  setLeader(isLeader: boolean): void;
  /** Each time this replica gains or loses leadership. */
  onLeaderTransition?(event: 'started' | 'stopped', reason: string): void;
}

/** Resolves after `ms`, or early (never rejecting) when `signal` aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };
