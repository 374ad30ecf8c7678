// Dashboard pages and assets, mounted by createApp at web.base_path after the API router. Nothing here
// touches data: the shell is static per process and the assets are files, so no auth is needed; the
// browser code calls the API (and /ws) with the user's token.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Config } from '../config/schema.ts';
import { PAGE_PATHS, renderShell } from './shell.ts';

/**
 * Only this origin, and no inline code or style attributes. Trusted Types make any HTML-string sink
 * (innerHTML and friends) throw, so data can only reach the page as text.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
};

export interface DashboardOptions {
  basePath: string;
  role: Config['role'];
  /** Folder with the browser assets; defaults to ./public next to this module (src/ or dist/). */
  publicDir?: string;
}

export function defaultPublicDir(): string {
  return fileURLToPath(new URL('./public/', import.meta.url));
}

/** Content hash of every file under `dir`: a new build gets new asset URLs, an unchanged one keeps them. */
export function assetVersion(dir: string): string {
  const hash = createHash('sha256');
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name))
    .sort();
  for (const file of files) {
    hash.update(file.slice(dir.length)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

export function createDashboardRouter(opts: DashboardOptions): express.Router {
  const dir = opts.publicDir ?? defaultPublicDir();
  const version = assetVersion(dir);
  const html = renderShell({ basePath: opts.basePath, role: opts.role, assetVersion: version });
  const r = express.Router();

  r.use((_req: Request, res: Response, next: NextFunction) => {
    res.set(SECURITY_HEADERS);
    next();
  });

  // The shell is revalidated on every load (Express adds an ETag), so a new build is picked up at once.
  const shell = (_req: Request, res: Response) => {
    res.set('cache-control', 'no-cache').type('html').send(html);
  };
  for (const path of PAGE_PATHS) r.get(path, shell);

  const files = { index: false, redirect: false, dotfiles: 'ignore' } as const;
  r.use(`/assets/${version}`, express.static(dir, { ...files, immutable: true, maxAge: '365d' }));
  // Another version (a tab opened against a replica running an older or newer build during a rollout)
  // still gets today's files, just without the promise that they never change.
  r.use('/assets/:version', (_req: Request, res: Response, next: NextFunction) => {
    res.set('cache-control', 'no-cache');
    next();
  }, express.static(dir, { ...files, cacheControl: false }));
  return r;
}
