// A real server for the browser tests: the in-process app behind HTTPS with the dashboard and the
// live socket, plus real Chromium (Debian's, driven by playwright-core; no browser downloads).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import type { ConfigInput } from '../../src/config/schema.ts';
import { createDashboardRouter } from '../../src/dashboard/router.ts';
import { TokenSet } from '../../src/http/auth.ts';
import { createLiveSocket, type LiveSocket } from '../../src/http/live-socket.ts';
import { listen, type ListeningServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { ADMIN_TOKEN, INGEST_TOKEN, READ_TOKEN, makeApp, type TestApp } from '../support/app.ts';
import { TestClient } from '../support/client.ts';
import { testPki } from '../support/pki.ts';
import { ROOT } from '../support/proc.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const SCREENSHOT_DIR = join(ROOT, 'test-output', 'dashboard');

export const chromiumPresent = (): boolean => existsSync(CHROMIUM);

export interface Site {
  t: TestApp;
  listener: ListeningServer;
  /** Origin plus base path, e.g. https://127.0.0.1:40123/ks */
  root: string;
  origin: string;
  ingest: TestClient;
  /** The socket serving /ws right now; `replaceLive()` drops every client and starts a fresh one. */
  live(): LiveSocket;
  replaceLive(): Promise<void>;
  close(): Promise<void>;
}

export async function startSite(opts: { basePath?: string; config?: ConfigInput; tokens?: { ingest: string[]; read: string[]; admin: string[] } } = {}): Promise<Site> {
  const basePath = opts.basePath ?? '';
  const config: ConfigInput = { ...opts.config, web: { base_path: basePath, ...opts.config?.web } };
  const pki = await testPki();
  const role = config.role ?? 'all';
  const tokens = opts.tokens ?? { ingest: [INGEST_TOKEN], read: [READ_TOKEN], admin: [ADMIN_TOKEN] };
  const t = await makeApp({ config, tokens, deps: { dashboard: createDashboardRouter({ basePath, role }) } });
  const makeLive = () => createLiveSocket({
    feed: t.app.feed, readTokens: new TokenSet({ tokens: tokens.read }), adminTokens: new TokenSet({ tokens: tokens.admin }),
    basePath, logger: createLogger({ level: 'silent' }),
  });
  let live = makeLive();
  const listener = await listen({
    handler: t.app.handler, tls: { certFile: pki.certFile, keyFile: pki.keyFile }, listen: '127.0.0.1:0',
    onUpgrade: (req, socket, head) => live.onUpgrade(req, socket, head),
  });
  const origin = `https://127.0.0.1:${listener.port}`;
  const ingest = new TestClient({ base: origin + basePath, ca: pki.ca, token: INGEST_TOKEN });
  return {
    t, listener, origin, root: origin + basePath, ingest,
    live: () => live,
    async replaceLive() {
      const old = live;
      live = makeLive();
      await old.close();
    },
    async close() {
      await live.close();
      await ingest.close();
      // A browser keeps keep-alive connections open after its pages close; do not wait out their timeout.
      const closing = listener.close();
      listener.server.closeAllConnections();
      await closing;
      await t.close();
    },
  };
}

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

export interface Watched {
  page: Page;
  /** Console errors and uncaught exceptions seen so far. */
  problems: string[];
  /** Every URL the page asked for that is not on the server's origin. */
  foreign: string[];
}

/** A page with a read token already in sessionStorage (or none), watched for errors and foreign requests. */
export async function openPage(context: BrowserContext, origin: string, token: string | null = READ_TOKEN): Promise<Watched> {
  const page = await context.newPage();
  if (token !== null) {
    await page.addInitScript((t) => { sessionStorage.setItem('kube-sentinel.read-token', t); }, token);
  }
  const problems: string[] = [];
  const foreign: string[] = [];
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
  page.on('pageerror', (err) => problems.push(`exception: ${err.message}`));
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith(origin.replace('https:', 'wss:')) && !url.startsWith('data:')) foreign.push(url);
  });
  return { page, problems, foreign };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

// ---- seed data ----

export function alert(name: string, labels: Record<string, string>, summary: string) {
  return { labels: { alertname: name, ...labels }, annotations: { summary } };
}

/** Posts alerts through the real ingest API and fails loudly when the server refuses them. */
export async function postAlerts(site: Site, alerts: unknown[]): Promise<void> {
  const r = await site.ingest.post('/api/v2/alerts', alerts);
  if (r.status !== 200) throw new Error(`ingest answered ${r.status}: ${r.text}`);
}

/**
 * On the overview page: waits for the one request awaiting approval, checks it offers no Approve button
 * until an admin token is entered, enters `adminToken`, and returns the plan text and the Approve button.
 */
export async function enterAdminForApproval(page: Page, adminToken: string): Promise<{ plan: string; approve: Locator }> {
  const item = page.locator('#approvals li.approval');
  await item.waitFor();
  const plan = (await item.locator('.plan').textContent()) ?? '';
  assert.equal(await item.locator('button.approve').count(), 0, 'no Approve button before an admin token is entered');
  await item.locator('button.enter-admin').click();
  await page.fill('#token-input', adminToken);
  await page.click('#token-form button[type=submit]');
  const approve = page.locator('#approvals li.approval button.approve');
  await approve.waitFor();
  return { plan, approve };
}
