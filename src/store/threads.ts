// A store on a worker thread, both sides: the caller's (startThread, Channel, forwarded) and the
// thread's (serveCalls). The SQLite store runs there because node:sqlite is synchronous; the
// PostgreSQL store because node-pg's protocol work and the batch's arrays were CPU on the thread that
// serves HTTP (issue #12). Calls and answers are messages with an id; errors cross as WireError, so an
// AppError keeps its code (and its HTTP status) on the way back.
import { type MessagePort, Worker } from 'node:worker_threads';
import { AppError, LoadError, type ErrorCode } from '../domain/errors.ts';
import type { RecordItem, RecordResult, Store } from './types.ts';
import { type PackedChunk, unpack } from './wire.ts';

interface WireError {
  kind: 'AppError' | 'LoadError' | 'Error';
  message: string;
  code?: string;
  file?: string;
  details?: Array<{ path: string; message: string }>;
}

export function toWireError(err: unknown): WireError {
  if (err instanceof AppError) return { kind: 'AppError', code: err.code, message: err.message, details: err.details };
  if (err instanceof LoadError) return { kind: 'LoadError', file: err.file, message: err.message, details: err.details };
  return { kind: 'Error', message: err instanceof Error ? err.message : String(err) };
}

function fromWire(e: WireError): Error {
  if (e.kind === 'AppError') return new AppError(e.code as ErrorCode, e.message, e.details ?? []);
  if (e.kind === 'LoadError') return new LoadError(e.file ?? '', e.details ?? [{ path: '', message: e.message }]);
  return new Error(e.message);
}

/** A thread's entry module, next to the caller: .ts when run from source, .js from dist/. */
export function entryUrl(base: string, name: string): URL {
  return new URL(base.endsWith('.ts') ? `./${name}.ts` : `./${name}.js`, base);
}

/**
 * One worker, resolved once it reports ready. Store threads only work on short-lived batches: a small
 * young generation keeps their share of the process RSS small (V8 would size it like the main
 * thread's). The name becomes the OS thread's (at most 15 characters), so `top -H` and the bench can
 * tell the store's threads apart by their CPU.
 */
export function startThread(url: URL, name: string, workerData: object, youngGenerationMb: number): Promise<Worker> {
  const worker = new Worker(url, { name, workerData, resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb } });
  return new Promise((resolve, reject) => {
    // The first message that says whether it started (a thread may post other messages before it).
    const started = (msg: { ready?: boolean; error?: WireError }) => {
      if (msg.ready === undefined) return;
      worker.off('message', started);
      if (msg.ready) {
        resolve(worker);
      } else {
        void worker.terminate();
        reject(fromWire(msg.error ?? { kind: 'Error', message: 'the thread did not start' }));
      }
    };
    worker.on('message', started);
    worker.once('error', reject);
  });
}

/** Calls into one store thread: each call posts a message and waits for the answer with its id. */
export class Channel {
  readonly worker: Worker;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  dead: Error | null = null;
  /** Why the thread ended while calls were still expected (not by the caller's close): it never answers again. */
  failed: Error | null = null;

  /** `what` names the thread in the store_unavailable error once it has died. */
  constructor(worker: Worker, what: string) {
    this.worker = worker;
    worker.on('message', (msg: { id?: number; result?: unknown; error?: WireError }) => {
      const p = msg.id === undefined ? undefined : this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id!);
      if (msg.error) p.reject(fromWire(msg.error));
      else p.resolve(msg.result);
    });
    const die = (why: string) => {
      if (!this.dead) this.failed = this.dead = new AppError('store_unavailable', `${what} ${why}`);
      for (const p of this.#pending.values()) p.reject(this.dead);
      this.#pending.clear();
    };
    worker.on('error', (err: Error) => die(`failed: ${err.message}`));
    worker.on('exit', (code) => die(`exited with code ${code}`));
  }

  /**
   * Asks the thread to close its store (the store's `close`), then ends it. Calls after this answer
   * store_unavailable, and the thread's end is not a failure (`failed` stays null). Rejects if the
   * store's close did; the thread is ended either way.
   */
  async close(): Promise<void> {
    try {
      if (!this.dead) await this.call('close', []);
    } finally {
      this.dead ??= new AppError('store_unavailable', 'store closed');
      await this.worker.terminate();
    }
  }

  call(method: string, args: unknown[], transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      try {
        this.worker.postMessage({ id, method, args }, transfer);
      } catch (err) {
        // An argument structured clone cannot carry: this call fails, the thread is fine.
        this.#pending.delete(id);
        reject(err as Error);
      }
    });
  }
}

type Fn = (...a: unknown[]) => unknown;

/**
 * On the thread: answers every call message with the method of that name, the thread's own first,
 * then the store's. Messages without a method are left to other listeners. An answer structured
 * clone cannot carry fails that call, not the thread.
 */
export function serveCalls(port: MessagePort, store: object, own: Record<string, Fn>): void {
  const methods = store as Record<string, Fn>;
  port.on('message', (msg: { id: number; method?: string; args: unknown[] }) => {
    if (msg.method === undefined) return;
    const fn = own[msg.method] ?? methods[msg.method];
    Promise.resolve()
      .then(() => fn.apply(store, msg.args))
      .then((result) => port.postMessage({ id: msg.id, result }))
      .catch((err: unknown) => port.postMessage({ id: msg.id, error: toWireError(err) }));
  });
}

/**
 * On the thread: opens the store and reports whether it started (startThread waits for that), then
 * answers calls with serveCalls. `recordPacked` records the caller's packed chunks (wire.ts); `own`
 * adds the thread's other calls.
 */
export function serveStore<S extends { record(items: RecordItem[]): Promise<RecordResult[]> }>(
  port: MessagePort, open: () => S, own: (store: S) => Record<string, Fn> = () => ({}),
): void {
  let store: S;
  try {
    store = open();
  } catch (err) {
    port.postMessage({ ready: false, error: toWireError(err) });
    return;
  }
  port.postMessage({ ready: true });
  serveCalls(port, store, { recordPacked: (chunks) => store.record(unpack(chunks as PackedChunk[])), ...own(store) });
}

/** The dashboard's reads: the SQLite store sends them to its reader thread while batches commit. */
export const READ_METHODS = [
  'listGroups', 'getGroup', 'stats', 'ruleHits', 'listHistory', 'listDeliveries',
  // Closed-loop reads (store/loop.ts): the outcome check's groups, found by a scan of the groups.
  'groupsAbout', 'groupCounts',
] as const;

/**
 * The other methods a store thread answers as they are: no packing, no choice of thread. (migrate,
 * record, close and the closed-loop methods, store/loop.ts, are forwarded by each store.)
 */
export const CALL_METHODS = [
  'expire', 'prune', 'ping', 'claimRequest', 'claimRequests', 'finishRequest', 'appendAudit', 'finishDecided', 'skipAlike', 'guardHistory',
  'getSettings', 'putSettings', 'pendingNotificationEvents', 'groupsByIds', 'outboxState', 'planNotifications', 'enqueueRepeats',
  'claimDelivery', 'releaseDeliveryClaims', 'finishDelivery',
] as const;

export type ReadMethods = Pick<Store, (typeof READ_METHODS)[number]>;
export type CallMethods = Pick<Store, (typeof CALL_METHODS)[number]>;

/** Methods that post their arguments to a thread and resolve with its answer. */
export function forwarded<M extends string>(methods: readonly M[], call: (method: M, args: unknown[]) => Promise<unknown>): Record<M, Fn> {
  return Object.fromEntries(methods.map((m) => [m, (...args: unknown[]) => call(m, args)])) as Record<M, Fn>;
}
