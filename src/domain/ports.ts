// The two ports every long-lived part takes from its surroundings: where to log and what time it is.
// One spelling each, so a test can hand the same fake to the leader, the worker, the notifier and the
// stores. Production passes a pino logger (structurally a Logger) and systemClock.

/** pino-compatible: structured fields first, message second. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms`, or early (never rejecting) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    // unref: a pending sleep never keeps the process alive on its own (the listeners do).
    const timer = setTimeout(done, Math.max(0, ms));
    timer.unref();
    signal?.addEventListener('abort', done, { once: true });
  }),
};

/**
 * Ends a Clock.sleep waiting on `waker`'s signal. Called after every committed ingest batch, so an
 * already-woken sleeper costs nothing: abort() with no reason would build its default DOMException,
 * stack trace included, before finding the signal already aborted.
 */
export function wakeSleeper(waker: AbortController): void {
  if (!waker.signal.aborted) waker.abort('woken');
}

/**
 * Cancellable callbacks, for debouncing and polling (the reloaders, the live feed): Clock.sleep
 * suits a loop that waits, this suits work scheduled from events. Handles are opaque.
 */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Real timers, unref'd: a pending callback never keeps the process alive on its own. */
export const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
