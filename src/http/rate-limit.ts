// Per-source token buckets (the admission route's flood guard). Time is injected so tests step it.
export interface RateLimiterOptions {
  /** Sustained requests per second per source. */
  ratePerSecond: number;
  /** Requests a source may send at once after being idle. */
  burst: number;
  now: () => number;
  /** Sources tracked at most; past it the idlest buckets (which are full again anyway) are dropped. */
  maxSources?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly #opts: Required<RateLimiterOptions>;
  readonly #buckets = new Map<string, Bucket>();
  constructor(opts: RateLimiterOptions) {
    this.#opts = { maxSources: 10_000, ...opts };
  }

  /** Take one token for `source`; false when its bucket is empty (refuse the request). */
  take(source: string): boolean {
    const now = this.#opts.now();
    const { ratePerSecond, burst } = this.#opts;
    let b = this.#buckets.get(source);
    if (b === undefined) {
      if (this.#buckets.size >= this.#opts.maxSources) this.#evict();
      b = { tokens: burst, at: now };
    } else {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * ratePerSecond);
      b.at = now;
      this.#buckets.delete(source); // re-inserted below: Map order stays least-recently-used first
    }
    this.#buckets.set(source, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Seconds until `source` may send again (for Retry-After). */
  retryAfterSeconds(source: string): number {
    const b = this.#buckets.get(source);
    if (!b || b.tokens >= 1) return 0;
    return Math.max(1, Math.ceil((1 - b.tokens) / this.#opts.ratePerSecond));
  }

  #evict(): void {
    // Least recently used first; a bucket idle for burst/rate seconds is full, so forgetting it is exact.
    for (const [key] of this.#buckets) {
      this.#buckets.delete(key);
      if (this.#buckets.size < this.#opts.maxSources * 0.9) break;
    }
  }
}
