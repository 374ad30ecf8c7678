// Reads a JSON request body with a hard size limit, without Express: this is the ingest hot path.
import type { IncomingMessage } from 'node:http';
import { AppError } from '../domain/errors.ts';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

function requireJsonContentType(req: IncomingMessage): void {
  const type = req.headers['content-type'];
  if (!type || !JSON_TYPE.test(type)) {
    throw new AppError('unsupported_media_type', `Content-Type must be application/json (got ${type ? JSON.stringify(type) : 'none'}).`);
  }
  const charset = /charset=([^;\s]+)/i.exec(type)?.[1]?.replace(/"/g, '').toLowerCase();
  if (charset && charset !== 'utf-8' && charset !== 'utf8') {
    throw new AppError('unsupported_media_type', `Only UTF-8 bodies are accepted (got charset=${charset}).`);
  }
  const encoding = req.headers['content-encoding'];
  if (encoding && encoding !== 'identity') {
    throw new AppError('unsupported_media_type', `Content-Encoding ${encoding} is not supported.`);
  }
}

/**
 * Bytes of ingest bodies held in memory at once (read, parsed, waiting for their batch to commit).
 * Past the budget a request gets 503 `overloaded` — senders retry — instead of the heap growing
 * until the process dies, which would lose everything in flight.
 */
export class InflightBudget {
  readonly limit: number;
  #used = 0;
  constructor(opts: { limitBytes: number }) {
    this.limit = opts.limitBytes;
  }
  get used(): number {
    return this.#used;
  }
  tryReserve(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }
  release(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}

/** A body read under a budget: `release()` once the request no longer holds its data. */
export interface BudgetedBody {
  body: unknown;
  release(): void;
}

export async function readJsonBudgeted(req: IncomingMessage, limit: number, budget: InflightBudget): Promise<BudgetedBody> {
  let reserved = 0;
  const release = () => { budget.release(reserved); reserved = 0; };
  try {
    const body = await readJson(req, limit, (n) => {
      if (!budget.tryReserve(n)) return false;
      reserved += n;
      return true;
    });
    return { body, release };
  } catch (err) {
    release();
    throw err;
  }
}

function readBody(req: IncomingMessage, limit: number, reserve?: (bytes: number) => boolean): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(new AppError('payload_too_large', `The body is ${declared} bytes; the limit is ${limit}.`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (reserve && !reserve(chunk.length)) {
        done = true;
        chunks.length = 0;
        reject(new AppError('overloaded'));
        req.pause();
        return;
      }
      if (size > limit) {
        done = true;
        chunks.length = 0;
        reject(new AppError('payload_too_large', `The body exceeds the limit of ${limit} bytes.`));
        // Stop reading; the response carries Connection: close so the rest is never parsed.
        req.pause();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (done) return;
      done = true;
      reject(new AppError('bad_request', `Could not read the request body: ${err.message}`));
    });
  });
}

export async function readJson(req: IncomingMessage, limit: number, reserve?: (bytes: number) => boolean): Promise<unknown> {
  requireJsonContentType(req);
  const buf = await readBody(req, limit, reserve);
  if (buf.length === 0) throw new AppError('invalid_json', 'The body is empty.');
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new AppError('invalid_json', `The body is not valid JSON: ${(err as Error).message}`);
  }
}
