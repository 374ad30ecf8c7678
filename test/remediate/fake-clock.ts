// A manual clock for loops that sleep through an injected `sleep`. advance() fires due sleepers in
// time order, letting real I/O (the fake API server) finish between them, so tests never wait on
// real timers for the durations under test.
import type { Clock } from '../../src/domain/ports.ts';

interface Sleeper {
  at: number;
  resolve: () => void;
}

const tick = () => new Promise<void>((r) => setTimeout(r, 1));

export class FakeClock {
  private t: number;
  private sleepers: Sleeper[] = [];
  /** Bumped on every sleep/cancel, to tell a quiet system from one still moving. */
  private changes = 0;
  /** Reports outside work in flight (e.g. fake API requests), so settle() waits for it. */
  busy: () => boolean = () => false;

  constructor(start = Date.parse('2024-05-01T10:00:00Z')) {
    this.t = start;
  }

  readonly now = (): number => this.t;

  readonly sleep: Clock['sleep'] = (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const s: Sleeper = { at: this.t + Math.max(0, ms), resolve };
      const cancel = () => {
        this.changes++;
        this.sleepers = this.sleepers.filter((x) => x !== s);
        resolve();
      };
      s.resolve = () => {
        signal?.removeEventListener('abort', cancel);
        resolve();
      };
      signal?.addEventListener('abort', cancel, { once: true });
      this.changes++;
      this.sleepers.push(s);
    });

  get pending(): number {
    return this.sleepers.length;
  }

  /** Wait (in real time, briefly) until someone sleeps on this clock and nothing has moved for a few ticks. */
  async settle(timeoutMs = 3000): Promise<void> {
    const until = Date.now() + timeoutMs;
    let quiet = 0;
    let seen = -1;
    while (quiet < 3) {
      if (Date.now() > until) throw new Error('FakeClock.settle: the system did not go to sleep');
      await tick();
      const still = this.changes === seen && this.sleepers.length > 0 && !this.busy();
      quiet = still ? quiet + 1 : 0;
      seen = this.changes;
    }
  }

  /** Move time forward by `ms`, waking sleepers in order and letting each one run to its next sleep. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    for (;;) {
      await this.settle();
      this.sleepers.sort((a, b) => a.at - b.at);
      const next = this.sleepers[0];
      if (!next || next.at > target) break;
      this.sleepers.shift();
      this.t = Math.max(this.t, next.at);
      next.resolve();
    }
    this.t = target;
  }

  /** Set the time without waking anyone (for direct calls that read now()). */
  set(t: number): void {
    this.t = t;
  }
}

/**
 * Wraps an object so every method call that returns a promise is counted while pending; fake-clock
 * tests use it as `busy` so settle() also waits for calls still on their way to the server.
 */
export function countPending<T extends object>(target: T): { proxy: T; pending: () => number } {
  let pending = 0;
  const proxy = new Proxy(target, {
    get(t, key, receiver) {
      const v = Reflect.get(t, key, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const r = v.apply(t, args);
        if (!(r instanceof Promise)) return r;
        pending++;
        return r.finally(() => { pending--; });
      };
    },
  });
  return { proxy, pending: () => pending };
}
