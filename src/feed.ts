// In-process live feed behind GET /ws. Ingest only marks group ids as changed (cheap, on the hot
// path); the feed loads and publishes them at most every `flushMs`, and only while someone listens.
// With PostgreSQL, NOTIFY from other replicas feeds the same `groupsChanged` entry point.
import { systemTimers, type Timers } from './domain/ports.ts';
import type { Logger } from './domain/ports.ts';
import type { AuditEntry, ErrorGroup, Settings, Store } from './store/types.ts';

export type FeedMessage =
  | { type: 'group'; group: ErrorGroup }
  | { type: 'remediation'; entry: AuditEntry }
  | { type: 'settings'; settings: Settings };

export type FeedListener = (msg: FeedMessage) => void;

export interface LiveFeedOptions {
  loadGroup: (id: number) => Promise<ErrorGroup | null>;
  flushMs?: number;
  timers?: Timers;
  onError?: (err: unknown) => void;
}

export class LiveFeed {
  readonly #listeners = new Set<FeedListener>();
  readonly #pending = new Set<number>();
  readonly #opts: LiveFeedOptions;
  #scheduled = false;

  constructor(opts: LiveFeedOptions) {
    this.#opts = opts;
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  subscribe(fn: FeedListener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  publish(msg: FeedMessage): void {
    for (const fn of this.#listeners) {
      try {
        fn(msg);
      } catch (err) {
        this.#opts.onError?.(err);
      }
    }
  }

  groupsChanged(ids: Iterable<number>): void {
    if (this.#listeners.size === 0) return;
    for (const id of ids) this.#pending.add(id);
    if (this.#scheduled || this.#pending.size === 0) return;
    this.#scheduled = true;
    (this.#opts.timers ?? systemTimers).setTimeout(() => void this.#flush(), this.#opts.flushMs ?? 200);
  }

  async #flush(): Promise<void> {
    const ids = [...this.#pending];
    this.#pending.clear();
    this.#scheduled = false;
    for (const id of ids) {
      try {
        const group = await this.#opts.loadGroup(id);
        if (group) this.publish({ type: 'group', group });
      } catch (err) {
        this.#opts.onError?.(err);
      }
    }
  }
}

/** The feed over a store: changed groups are loaded without occurrences; a failed load is a warning. */
export function storeFeed(store: Pick<Store, 'getGroup'>, log: Pick<Logger, 'warn'>): LiveFeed {
  return new LiveFeed({
    loadGroup: (id) => store.getGroup(id, { occurrences: 0 }),
    onError: (err) => log.warn({ err }, 'live feed could not load a group'),
  });
}
