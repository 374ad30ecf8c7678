// Keeps the live rule set in step with rules.yaml. A bad edit must never take classification down, so
// an invalid file is reported and the last good set stays in force until a valid one arrives.
import { watch as fsWatch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { LoadError } from '../domain/errors.ts';
import { systemTimers, type Logger, type Timers } from '../domain/ports.ts';
import type { CompiledRuleSet } from './compile.ts';
import { hashRulesText, parseRules } from './load.ts';

export type ReloadTrigger = 'startup' | 'sighup' | 'watch' | 'poll' | 'manual';

export type ReloadResult =
  /** `previous` is null only for the start-up load. */
  | { ok: true; changed: boolean; trigger: ReloadTrigger; ruleSet: CompiledRuleSet; previous: CompiledRuleSet | null }
  /** `ruleSet` is the set still in force (the last good one); null only when the start-up load failed. */
  | { ok: false; error: LoadError; trigger: ReloadTrigger; ruleSet: CompiledRuleSet | null };

export interface DirWatcher {
  close(): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

type WatchDir = (dir: string, listener: (event: string, filename: string | null) => void) => DirWatcher;

export interface RulesReloaderOptions {
  file: string;
  /** An already loaded set; without one, start() loads the file (and throws if it is invalid). */
  initial?: CompiledRuleSet;
  /**
   * Every attempt worth telling: loads, changes, failures and explicit reloads. Automatic (poll/watch)
   * attempts that change nothing or fail again on the same content stay silent. Feed logs and the
   * `rules reload failures` metric from here.
   */
  onReload?: (result: ReloadResult) => void;
  /** Only when a different, valid set took over (not for the start-up load). */
  onChange?: (next: CompiledRuleSet, previous: CompiledRuleSet) => void;
  /** Configured webhook receivers: a `webhook` action must name one (see LoadOptions). */
  webhookReceivers?: readonly string[];
  logger?: Logger;
  now?: () => number;
  /** Editors and ConfigMap updates emit bursts of events; one reload per burst. Default 200 ms. */
  debounceMs?: number;
  /** Safety-net re-read for filesystems where watching is unreliable (NFS, exhausted inotify). 0 = off. Default 30 s. */
  pollMs?: number;
  /** Delay before re-arming a watcher that failed (directory replaced or removed). Default 5 s. */
  rewatchMs?: number;
  timers?: Timers;
  watch?: WatchDir;
  readText?: (file: string) => Promise<string>;
}

// persistent: false, so an idle watcher never keeps the process alive on shutdown.
const realWatch: WatchDir = (dir, listener) => fsWatch(dir, { persistent: false }, (event, name) => listener(event, name));

const automatic = (trigger: ReloadTrigger) => trigger === 'poll' || trigger === 'watch';

// Kubernetes mounts ConfigMap keys as symlinks through `..data`, which it swaps atomically on update.
const CONFIGMAP_SWAP = '..data';

export class RulesReloader {
  readonly #file: string;
  readonly #dir: string;
  readonly #base: string;
  readonly #opts: RulesReloaderOptions;
  readonly #timers: Timers;
  #current: CompiledRuleSet | null;
  #chain: Promise<unknown> = Promise.resolve();
  #lastFailure: string | null = null;
  #watcher: DirWatcher | null = null;
  #debounce: unknown = null;
  #poll: unknown = null;
  #rewatch: unknown = null;
  #running = false;

  constructor(options: RulesReloaderOptions) {
    this.#opts = options;
    this.#file = options.file;
    this.#dir = dirname(options.file);
    this.#base = basename(options.file);
    this.#timers = options.timers ?? systemTimers;
    this.#current = options.initial ?? null;
  }

  current(): CompiledRuleSet {
    if (this.#current === null) throw new Error('rules not loaded yet: await start() first');
    return this.#current;
  }

  /** Re-read the file now (main calls this on SIGHUP). Attempts run one at a time, in call order. */
  reload(trigger: ReloadTrigger = 'manual'): Promise<ReloadResult> {
    const run = this.#chain.then(() => this.#reloadOnce(trigger));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Load the file unless an initial set was given (a LoadError here should stop start-up: there is no
   * good set to fall back on), then watch it.
   */
  async start(): Promise<void> {
    if (this.#running) return;
    if (this.#current === null) {
      const result = await this.reload('startup');
      if (!result.ok) throw result.error;
    }
    this.#running = true;
    this.#arm();
    this.#schedulePoll();
  }

  /** Stop watching; resolves once any reload in progress has finished. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#watcher?.close();
    this.#watcher = null;
    for (const handle of [this.#debounce, this.#poll, this.#rewatch]) if (handle !== null) this.#timers.clearTimeout(handle);
    this.#debounce = this.#poll = this.#rewatch = null;
    await this.#chain;
  }

  async #reloadOnce(trigger: ReloadTrigger): Promise<ReloadResult> {
    const previous = this.#current;
    let text: string;
    try {
      text = await (this.#opts.readText ?? ((f: string) => readFile(f, 'utf8')))(this.#file);
    } catch (err) {
      const message = `cannot read rules file: ${(err as Error).message}`;
      return this.#failed(trigger, new LoadError(this.#file, [{ path: '', message }]), `unreadable: ${message}`);
    }
    const hash = hashRulesText(text);
    if (previous !== null && hash === previous.hash) {
      this.#lastFailure = null;
      const result: ReloadResult = { ok: true, changed: false, trigger, ruleSet: previous, previous };
      // Polls and stray directory events that change nothing are not news; an operator's SIGHUP is answered.
      return automatic(trigger) ? result : this.#report(result);
    }
    let next: CompiledRuleSet;
    try {
      next = parseRules(text, this.#file, { now: this.#opts.now, webhookReceivers: this.#opts.webhookReceivers });
    } catch (err) {
      const error = err instanceof LoadError ? err : new LoadError(this.#file, [{ path: '', message: String(err) }]);
      return this.#failed(trigger, error, hash);
    }
    this.#lastFailure = null;
    this.#current = next;
    this.#opts.logger?.info(
      { file: this.#file, trigger, version: next.version, previousVersion: previous?.version ?? null, rules: next.rules.length },
      previous === null ? 'rules loaded' : 'rules reloaded',
    );
    if (previous !== null) this.#notify('onChange', () => this.#opts.onChange?.(next, previous));
    return this.#report({ ok: true, changed: true, trigger, ruleSet: next, previous });
  }

  /** `failure` identifies the broken content (its hash, or the read error) so repeats can be recognised. */
  #failed(trigger: ReloadTrigger, error: LoadError, failure: string): ReloadResult {
    const result: ReloadResult = { ok: false, error, trigger, ruleSet: this.#current };
    // The poll would otherwise re-report the same broken file every interval; explicit reloads always report.
    const repeat = failure === this.#lastFailure && automatic(trigger);
    this.#lastFailure = failure;
    if (repeat) return result;
    this.#opts.logger?.warn(
      { file: this.#file, trigger, error: error.message, keptVersion: this.#current?.version ?? null },
      this.#current === null ? 'rules file is invalid' : 'rules reload failed; keeping the previous rules',
    );
    return this.#report(result);
  }

  #report(result: ReloadResult): ReloadResult {
    this.#notify('onReload', () => this.#opts.onReload?.(result));
    return result;
  }

  // A throwing listener must not break the reload chain or surface as an unhandled rejection from a watch event.
  #notify(name: string, call: () => void): void {
    try {
      call();
    } catch (err) {
      this.#opts.logger?.warn({ file: this.#file, listener: name, error: (err as Error).message }, 'rules reload listener threw');
    }
  }

  #arm(): void {
    const watchDir = this.#opts.watch ?? realWatch;
    try {
      const watcher = watchDir(this.#dir, (_event, name) => {
        // A null name means the platform could not say which entry changed: assume it was ours.
        if (name === null || name === this.#base || name === CONFIGMAP_SWAP) this.#scheduleReload();
      });
      watcher.on('error', (err) => this.#rearm(err));
      this.#watcher = watcher;
    } catch (err) {
      this.#rearm(err as Error);
    }
  }

  #rearm(err: Error): void {
    this.#watcher?.close();
    this.#watcher = null;
    if (!this.#running || this.#rewatch !== null) return;
    this.#opts.logger?.warn({ file: this.#file, error: err.message }, 'rules file watch failed; retrying');
    this.#rewatch = this.#timers.setTimeout(() => {
      this.#rewatch = null;
      if (!this.#running) return;
      this.#arm();
      // The change that broke the watcher (e.g. the directory being replaced) may itself be the update.
      if (this.#watcher) this.#scheduleReload();
    }, this.#opts.rewatchMs ?? 5000);
  }

  #scheduleReload(): void {
    if (!this.#running) return;
    if (this.#debounce !== null) this.#timers.clearTimeout(this.#debounce);
    this.#debounce = this.#timers.setTimeout(() => {
      this.#debounce = null;
      if (this.#running) void this.reload('watch');
    }, this.#opts.debounceMs ?? 200);
  }

  #schedulePoll(): void {
    const every = this.#opts.pollMs ?? 30_000;
    if (!this.#running || every <= 0) return;
    this.#poll = this.#timers.setTimeout(() => {
      this.#poll = null;
      if (!this.#running) return;
      void this.reload('poll').finally(() => this.#schedulePoll());
    }, every);
  }
}
