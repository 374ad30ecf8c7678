// The spine of the server: Signal[] → classify → fingerprint → group commit → (feed, remediation).
// Each stage is a pure function or an injected object; HTTP-free, so the CLI and tests reuse it.
import { classify } from './classify/classify.ts';
import type { CompiledRuleSet } from './classify/compile.ts';
import { groupFingerprint } from './dedup/fingerprint.ts';
import { expiresAt } from './dedup/expiry.ts';
import type { Signal } from './domain/types.ts';
import type { RecordItem, RecordResult } from './store/types.ts';

interface Committer {
  submit(items: RecordItem[]): Promise<RecordResult[]>;
}

interface PipelineObserver {
  /** After commit: one entry per recorded item. */
  committed(channel: string, results: RecordResult[]): void;
  /** Signals dropped before the store (e.g. Normal events no rule asked for). */
  ignored(channel: string, count: number): void;
}

export interface PipelineOptions {
  rules: () => CompiledRuleSet;
  committer: Committer;
  now: () => number;
  observer?: PipelineObserver;
  /** Called with group ids whose state changed (live feed). */
  onGroupsChanged?: (ids: number[]) => void;
  /** Called when the batch queued remediation requests (wakes the leader's worker). */
  onRemediationQueued?: () => void;
}

export interface IngestOutcome {
  results: RecordResult[];
  ignored: number;
}

/** Pure: build the store item for one signal. */
export function toRecordItem(signal: Signal, rules: CompiledRuleSet, receivedAt: number): RecordItem | null {
  const classification = classify(signal, rules);
  // Normal events (Scheduled, Pulled, Started, …) are routine; keep them only when a rule asks for them.
  if (signal.source === 'event' && signal.eventType === 'Normal' && classification.rule === null) return null;
  const fp = groupFingerprint(signal, classification.rule);
  return {
    fingerprint: fp.fingerprint,
    signal,
    classification,
    workload: fp.workload,
    normalizedMessage: fp.normalizedMessage,
    receivedAt,
    expiresAt: expiresAt(signal, receivedAt),
  };
}

export class Pipeline {
  readonly #opts: PipelineOptions;
  constructor(opts: PipelineOptions) {
    this.#opts = opts;
  }

  prepare(signals: Signal[]): { items: RecordItem[]; ignored: number } {
    const rules = this.#opts.rules();
    const now = this.#opts.now();
    const items: RecordItem[] = [];
    for (const s of signals) {
      const item = toRecordItem(s, rules, now);
      if (item) items.push(item);
    }
    return { items, ignored: signals.length - items.length };
  }

  /**
   * Resolves only after the store committed every item (the HTTP 2xx contract). Not async itself:
   * the signals and items are reachable only until they are submitted, not while the commit is awaited
   * (V8 keeps an async function's locals alive across an await, used or not).
   */
  ingest(channel: string, signals: Signal[]): Promise<IngestOutcome> {
    try {
      const { items, ignored } = this.prepare(signals);
      if (ignored > 0) this.#opts.observer?.ignored(channel, ignored);
      if (items.length === 0) return Promise.resolve({ results: [], ignored });
      return this.#committed(channel, this.#opts.committer.submit(items), ignored);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async #committed(channel: string, submitted: Promise<RecordResult[]>, ignored: number): Promise<IngestOutcome> {
    const results = await submitted;
    this.#opts.observer?.committed(channel, results);
    const changed: number[] = [];
    let queued = false;
    for (const r of results) {
      if (r.outcome !== 'stale') changed.push(r.groupId);
      if (r.remediationRequestId !== null) queued = true;
    }
    if (changed.length) this.#opts.onGroupsChanged?.(changed);
    if (queued) this.#opts.onRemediationQueued?.();
    return { results, ignored };
  }
}
