// Keeps the serving certificate in step with its files. cert-manager, the chart's generated Secret and
// operators rotate certificates in place; Kubernetes updates Secret volumes by swapping a `..data`
// symlink. A new pair is put in service only when it loads and the key matches; otherwise the pair in
// service stays, so a half-written rotation never takes TLS down.
import { watch as fsWatch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { systemTimers, type Timers } from '../domain/ports.ts';
import { loadTlsPair, type TlsFiles, type TlsPair } from './material.ts';

export type TlsReloadTrigger = 'sighup' | 'watch' | 'poll' | 'manual';

export type TlsReloadResult =
  | { ok: true; changed: boolean; trigger: TlsReloadTrigger; pair: TlsPair }
  | { ok: false; error: string; trigger: TlsReloadTrigger; pair: TlsPair };

export interface Watcher {
  close(): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

export interface TlsReloaderOptions {
  files: TlsFiles;
  /** The pair in service now (loaded at start-up). */
  initial: TlsPair;
  /** Put a checked pair in service (every listener's setSecureContext). */
  apply: (pair: TlsPair) => void;
  /** Every change and every failure (feed the metric and the log from here); not unchanged polls. */
  onReload?: (result: TlsReloadResult) => void;
  /** A rotation writes several files; reload once per burst. Default 500 ms. */
  debounceMs?: number;
  /** Re-read safety net where watching is unreliable. 0 = off. Default 60 s. */
  pollMs?: number;
  watch?: (dir: string, listener: (event: string, name: string | null) => void) => Watcher;
  load?: (files: TlsFiles) => Promise<TlsPair>;
  /** Injected so tests can step time; real, unref'd timers by default. */
  timers?: Timers;
}

const SECRET_SWAP = '..data';

export class TlsReloader {
  readonly #opts: TlsReloaderOptions;
  #current: TlsPair;
  #chain: Promise<unknown> = Promise.resolve();
  #watchers: Watcher[] = [];
  readonly #timers: Timers;
  #debounce: unknown = null;
  #poll: unknown = null;
  #lastFailure: string | null = null;
  #running = false;

  constructor(opts: TlsReloaderOptions) {
    this.#opts = opts;
    this.#current = opts.initial;
    this.#timers = opts.timers ?? systemTimers;
  }

  get current(): TlsPair {
    return this.#current;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    const { certFile, keyFile, clientCaFile } = this.#opts.files;
    const files = [certFile, keyFile, ...(clientCaFile ? [clientCaFile] : [])];
    const names = new Set(files.map((f) => basename(f)));
    const watch = this.#opts.watch ?? ((dir, listener) => fsWatch(dir, { persistent: false }, (e, n) => listener(e, n)));
    for (const dir of new Set(files.map((f) => dirname(f)))) {
      try {
        const w = watch(dir, (_event, name) => {
          if (name === null || names.has(name) || name === SECRET_SWAP) this.#schedule();
        });
        // A watcher that dies (directory replaced) leaves the poll as the safety net.
        w.on('error', () => w.close());
        this.#watchers.push(w);
      } catch {
        // Unwatchable directory: the poll still picks up rotations.
      }
    }
    this.#schedulePoll();
  }

  #schedulePoll(): void {
    const every = this.#opts.pollMs ?? 60_000;
    if (!this.#running || every <= 0) return;
    this.#poll = this.#timers.setTimeout(() => {
      this.#poll = null;
      if (this.#running) void this.reload('poll').finally(() => this.#schedulePoll());
    }, every);
  }

  async stop(): Promise<void> {
    this.#running = false;
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
    for (const handle of [this.#debounce, this.#poll]) if (handle !== null) this.#timers.clearTimeout(handle);
    this.#debounce = this.#poll = null;
    await this.#chain;
  }

  /** Re-read the files now (SIGHUP). Attempts run one at a time. */
  reload(trigger: TlsReloadTrigger = 'manual'): Promise<TlsReloadResult> {
    const run = this.#chain.then(() => this.#once(trigger));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #once(trigger: TlsReloadTrigger): Promise<TlsReloadResult> {
    let next: TlsPair;
    try {
      next = await (this.#opts.load ?? loadTlsPair)(this.#opts.files);
    } catch (err) {
      const error = (err as Error).message;
      const result: TlsReloadResult = { ok: false, error, trigger, pair: this.#current };
      // A rotation in progress can fail several polls in a row; say it once per distinct problem.
      const repeat = error === this.#lastFailure && trigger === 'poll';
      this.#lastFailure = error;
      if (!repeat) this.#opts.onReload?.(result);
      return result;
    }
    this.#lastFailure = null;
    if (next.digest === this.#current.digest) {
      const result: TlsReloadResult = { ok: true, changed: false, trigger, pair: next };
      if (trigger === 'sighup' || trigger === 'manual') this.#opts.onReload?.(result);
      return result;
    }
    this.#opts.apply(next);
    this.#current = next;
    const result: TlsReloadResult = { ok: true, changed: true, trigger, pair: next };
    this.#opts.onReload?.(result);
    return result;
  }

  #schedule(): void {
    if (!this.#running) return;
    if (this.#debounce !== null) this.#timers.clearTimeout(this.#debounce);
    this.#debounce = this.#timers.setTimeout(() => {
      this.#debounce = null;
      if (this.#running) void this.reload('watch');
    }, this.#opts.debounceMs ?? 500);
  }
}
