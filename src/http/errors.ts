// The one place that renders errors: {"error": {"code", "message", "details"}} with the catalogue's status.
import type { ServerResponse } from 'node:http';
import { AppError, ERROR_CATALOGUE, type ErrorCode, type ErrorDetail } from '../domain/errors.ts';

export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as { type?: string; status?: number; expose?: boolean } | null;
  // body-parser (express.json) errors carry a type and status; map them onto the catalogue.
  if (e?.type === 'entity.too.large') return new AppError('payload_too_large');
  if (e?.type === 'entity.parse.failed') return new AppError('invalid_json');
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') return new AppError('unsupported_media_type');
  // A route parameter that does not percent-decode (Express raises URIError / status 400).
  if (err instanceof URIError) return new AppError('bad_request', 'The path holds malformed percent-encoding.');
  if (e?.expose && typeof e.status === 'number') {
    if (e.status === 413) return new AppError('payload_too_large');
    if (e.status === 415) return new AppError('unsupported_media_type');
    if (e.status >= 400 && e.status < 500) return new AppError('bad_request');
  }
  return new AppError('internal');
}

export function errorBody(code: ErrorCode, message?: string, details: ErrorDetail[] = []): string {
  return JSON.stringify({ error: { code, message: message ?? ERROR_CATALOGUE[code].summary, details } });
}

export function sendJson(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const e = toAppError(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // An error is never worth caching (and a 401/403 must not be replayed from a cache).
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (e.code === 'unauthorized') headers['www-authenticate'] = 'Bearer realm="kube-sentinel"';
  if (e.status === 503) headers['retry-after'] = '5';
  sendJson(res, e.status, errorBody(e.code, e.message, e.details), headers);
}
