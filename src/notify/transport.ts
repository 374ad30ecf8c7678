// The edge of notifications: turns a message into HTTP requests for one receiver and sends them with
// undici. Secrets are read from their files on every attempt (rotation needs no restart) and scrubbed
// from every error text, so neither logs, metrics, the store nor the API ever see them.
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'undici';
import type { ReceiverConfig } from '../config/notifications.ts';
import { LoadError } from '../domain/errors.ts';
import type { NotificationMessage } from './message.ts';
import { receiverOf, renderFor, secretFilesOf } from './receivers/index.ts';
import type { DeliveryContext, OutboundRequest, ReceiverSecrets } from './receivers/types.ts';
import { signedPost } from './receivers/webhook.ts';
import type { AttemptResult } from './retry.ts';

/** How much of a receiver's answer is kept for the error text. */
const MAX_BODY = 2048;

type ReadFile = (path: string) => Promise<string>;

interface Entry {
  config: ReceiverConfig;
  agent: Agent;
  timeoutMs: number;
}

export interface TransportOptions {
  receivers: readonly ReceiverConfig[];
  readFile?: ReadFile;
}

/** Replaces every secret (and the Slack URL's path, which is the secret part) in a text. */
export function scrub(text: string, secrets: ReceiverSecrets): string {
  let out = text;
  for (const s of Object.values(secrets)) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}

export class Transport {
  readonly #entries = new Map<string, Entry>();
  readonly #read: ReadFile;

  private constructor(read: ReadFile) {
    this.#read = read;
  }

  /** Reads every CA and secret file once, so a missing file fails startup naming its key. */
  static async create(opts: TransportOptions): Promise<Transport> {
    const read = opts.readFile ?? ((p: string) => readFile(p, 'utf8'));
    const t = new Transport(read);
    for (const [i, r] of opts.receivers.entries()) {
      const { type, settings: tr } = receiverOf(r);
      let ca: string | undefined;
      if (tr.ca_file) {
        try {
          ca = await read(tr.ca_file);
        } catch (err) {
          throw new LoadError(tr.ca_file, [{ path: `notifications.receivers[${i}].${type}.ca_file`, message: `cannot read: ${(err as Error).message}` }]);
        }
      }
      for (const [, file] of secretFilesOf(r)) {
        try {
          if ((await read(file)).trim() === '') throw new Error('the file is empty');
        } catch (err) {
          throw new LoadError(file, [{ path: `notifications.receivers[${i}] (${r.name})`, message: `cannot read secret file: ${(err as Error).message}` }]);
        }
      }
      // One connection pool per receiver: its CA and timeouts apply to it alone.
      const agent = new Agent({ connect: { ca, timeout: tr.timeout }, headersTimeout: tr.timeout, bodyTimeout: tr.timeout, connections: 4 });
      t.#entries.set(r.name, { config: r, agent, timeoutMs: tr.timeout });
    }
    return t;
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  typeOf(name: string): string | null {
    const e = this.#entries.get(name);
    return e ? receiverOf(e.config).type : null;
  }

  async #secrets(r: ReceiverConfig): Promise<ReceiverSecrets> {
    const s: ReceiverSecrets = {};
    for (const [key, file] of secretFilesOf(r)) s[key] = (await this.#read(file)).trim();
    return s;
  }

  /** Sends one delivery; several requests (PagerDuty: one per group) stop at the first failure. */
  async deliver(name: string, message: NotificationMessage, ctx: DeliveryContext): Promise<AttemptResult> {
    const e = this.#entries.get(name);
    if (!e) return { kind: 'error', reason: 'internal', message: `receiver "${name}" is not configured (any more)` };
    let secrets: ReceiverSecrets;
    try {
      secrets = await this.#secrets(e.config);
    } catch (err) {
      return { kind: 'error', reason: 'secret', message: `cannot read a secret file: ${(err as NodeJS.ErrnoException).code ?? 'error'}` };
    }
    let requests: OutboundRequest[];
    try {
      requests = renderFor(e.config, message, secrets, ctx);
    } catch (err) {
      return { kind: 'error', reason: 'internal', message: scrub((err as Error).message, secrets) };
    }
    let last: AttemptResult = { kind: 'response', status: 204, retryAfter: null, body: '' };
    for (const req of requests) {
      last = await this.#send(e, req, secrets);
      if (last.kind === 'error' || last.status < 200 || last.status >= 300) return last;
    }
    return last;
  }

  /** The `webhook` remediation action: one signed JSON document to a webhook receiver. */
  async post(name: string, document: unknown, id: string, now: number): Promise<AttemptResult> {
    const e = this.#entries.get(name);
    if (!e?.config.webhook) return { kind: 'error', reason: 'internal', message: `"${name}" is not a webhook receiver` };
    let secrets: ReceiverSecrets;
    try {
      secrets = await this.#secrets(e.config);
    } catch (err) {
      return { kind: 'error', reason: 'secret', message: `cannot read a secret file: ${(err as NodeJS.ErrnoException).code ?? 'error'}` };
    }
    return this.#send(e, signedPost(e.config.webhook.url, secrets, { document, id, event: 'remediation-request', now }), secrets);
  }

  async #send(e: Entry, req: OutboundRequest, secrets: ReceiverSecrets): Promise<AttemptResult> {
    try {
      const res = await request(req.url, {
        method: 'POST', headers: req.headers, body: req.body, dispatcher: e.agent,
        // Backstop for a receiver that trickles its answer: the whole exchange is bounded.
        signal: AbortSignal.timeout(e.timeoutMs * 2),
      });
      let body = '';
      for await (const chunk of res.body) {
        if (body.length < MAX_BODY) body += chunk.toString();
      }
      const retryAfter = res.headers['retry-after'];
      return {
        kind: 'response', status: res.statusCode, body: scrub(body.slice(0, MAX_BODY), secrets),
        retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter ?? null,
      };
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      const name = (err as Error).name;
      const timeout = /TIMEOUT/i.test(code) || name === 'TimeoutError' || name === 'AbortError';
      const message = scrub(`${code || name}: ${(err as Error).message}`, secrets);
      return { kind: 'error', reason: timeout ? 'timeout' : 'network', message };
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#entries.values()].map((e) => e.agent.close().catch(() => {})));
  }
}
