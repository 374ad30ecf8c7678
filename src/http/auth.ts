// Bearer-token checks. Comparison is constant-time over SHA-256 digests, so neither the token's
// content nor its length leaks through timing.
import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { AppError } from '../domain/errors.ts';

/** SHA-256 of a token, as 64 hex digits in a buffer: hex output is several times cheaper than 'buffer' (issue #12). */
function digest(token: string): Buffer {
  return Buffer.from(hash('sha256', token, 'hex'), 'latin1');
}

export class TokenSet {
  readonly #digests: Buffer[];
  constructor(opts: { tokens: readonly string[] }) {
    this.#digests = opts.tokens.map(digest);
  }
  get size(): number {
    return this.#digests.length;
  }
  has(token: string): boolean {
    const d = digest(token);
    let found = false;
    // Check every digest (no early exit) so timing does not reveal which one matched.
    for (const known of this.#digests) found = timingSafeEqual(known, d) || found;
    return found;
  }
}

export function bearerToken(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  if (!h) return null;
  const m = /^Bearer[ ]+([^\s]+)\s*$/i.exec(h);
  return m ? m[1] : null;
}

/** Throws 401 unless the request carries one of the tokens (an empty set fails closed). */
export function requireToken(req: IncomingMessage, ...sets: TokenSet[]): void {
  const token = bearerToken(req);
  if (token === null) throw new AppError('unauthorized', 'Missing bearer token (Authorization: Bearer <token>).');
  if (!sets.some((s) => s.has(token))) throw new AppError('unauthorized', 'Invalid bearer token.');
}
