// The dashboard's HTTP side: shell on every page route, strict headers, cacheable versioned assets,
// base-path awareness, and nothing in the HTML that would need the network or inline code.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { assetVersion, createDashboardRouter, CONTENT_SECURITY_POLICY, defaultPublicDir } from '../../src/dashboard/router.ts';
import { escapeHtml, renderShell } from '../../src/dashboard/shell.ts';
import { makeApp, type TestApp } from '../support/app.ts';

const PAGES = ['/', '/errors', '/errors/42', '/rules', '/history', '/settings'];

describe('dashboard router', () => {
  let t: TestApp;
  let version: string;
  before(async () => {
    t = await makeApp({ config: { web: { base_path: '/ks' } }, deps: { dashboard: createDashboardRouter({ basePath: '/ks', role: 'all' }) } });
    version = assetVersion(defaultPublicDir());
  });
  after(() => t.close());
  const get = (path: string) => request(t.app.handler).get(path);

  it('serves the shell on every page route under the base path, without a token', async () => {
    for (const page of PAGES) {
      const r = await get(`/ks${page === '/' ? '' : page}`);
      assert.equal(r.status, 200, page);
      assert.match(r.headers['content-type'], /^text\/html/);
      assert.match(r.text, /<meta name="ks-base-path" content="\/ks">/);
      assert.equal(r.headers['cache-control'], 'no-cache');
    }
    assert.equal((await get('/ks/')).status, 200);
    assert.equal((await get('/errors')).status, 404, 'nothing outside the base path');
    assert.equal((await get('/ks/errors/1/extra')).status, 404);
    assert.equal((await get('/ks/nope')).status, 404);
  });

  it('sends a same-origin-only CSP and the other security headers', async () => {
    const r = await get('/ks/errors');
    const csp = r.headers['content-security-policy'];
    assert.equal(csp, CONTENT_SECURITY_POLICY);
    for (const directive of ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "require-trusted-types-for 'script'"]) {
      assert.ok(csp.includes(directive), directive);
    }
    assert.ok(!/unsafe-inline|unsafe-eval|https?:|\*/.test(csp), 'no escape hatches or foreign sources');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['referrer-policy'], 'no-referrer');
    assert.equal(r.headers['x-frame-options'], 'DENY');
  });

  it('has no inline script or style and loads only local assets', async () => {
    const html = (await get('/ks/')).text;
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length >= 1);
    for (const [, attrs, body] of scripts) {
      assert.match(attrs, /src="\/ks\/assets\/[0-9a-f]{16}\/app\.js"/);
      assert.equal(body.trim(), '', 'no inline code');
    }
    assert.ok(!/\son[a-z]+=/i.test(html), 'no inline event handlers');
    assert.ok(!/\sstyle=/i.test(html), 'no inline styles');
    for (const [, url] of html.matchAll(/(?:src|href)="([^"]+)"/g)) assert.ok(url.startsWith('/ks/') || url.startsWith('#'), url);
  });

  it('serves versioned assets as immutable and unknown versions without the promise', async () => {
    const js = await get(`/ks/assets/${version}/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers['content-type'], /javascript/);
    assert.match(js.headers['cache-control'], /max-age=31536000/);
    assert.match(js.headers['cache-control'], /immutable/);
    const css = await get(`/ks/assets/${version}/styles.css`);
    assert.match(css.headers['content-type'], /text\/css/);
    const old = await get('/ks/assets/0000000000000000/app.js');
    assert.equal(old.status, 200, 'a tab from another build still loads');
    assert.equal(old.headers['cache-control'], 'no-cache');
    assert.equal((await get(`/ks/assets/${version}/missing.js`)).status, 404);
    for (const escape of ['%2e%2e/router.ts', '..%2frouter.ts', 'pages/..%2F..%2Frouter.ts']) {
      assert.equal((await get(`/ks/assets/${version}/${escape}`)).status, 404, `no escape from the asset folder: ${escape}`);
    }
    assert.equal((await get(`/ks/assets/${version}/pages/errors.js`)).status, 200);
  });

  it('every module the pages import exists (no build step can catch a typo)', () => {
    const dir = defaultPublicDir();
    const files = readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.js'));
    for (const file of files) {
      const text = readFileSync(join(dir, file), 'utf8');
      for (const [, spec] of text.matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)) {
        assert.ok(spec.startsWith('.'), `${file} imports only relative modules (air-gapped): ${spec}`);
        assert.doesNotThrow(() => readFileSync(new URL(spec, `file://${join(dir, file)}`)), `${file} → ${spec}`);
      }
      assert.ok(!/innerHTML|outerHTML|insertAdjacentHTML|document\.write/.test(text), `${file} never writes HTML strings`);
    }
  });
});

describe('dashboard shell and asset version', () => {
  it('escapes what it injects', () => {
    const html = renderShell({ basePath: '/a"><script>', role: 'dashboard', assetVersion: 'v' });
    assert.ok(!html.includes('"><script>'));
    assert.ok(html.includes(escapeHtml('/a"><script>')));
    assert.match(html, /<meta name="ks-role" content="dashboard">/);
  });

  it('changes when an asset changes and only then', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-assets-'));
    writeFileSync(join(dir, 'a.js'), 'one');
    const v1 = assetVersion(dir);
    assert.equal(assetVersion(dir), v1);
    writeFileSync(join(dir, 'a.js'), 'two');
    assert.notEqual(assetVersion(dir), v1);
  });

  it('works without a base path', async () => {
    const t = await makeApp({ deps: { dashboard: createDashboardRouter({ basePath: '', role: 'all' }) } });
    try {
      const r = await request(t.app.handler).get('/');
      assert.equal(r.status, 200);
      assert.match(r.text, /src="\/assets\/[0-9a-f]{16}\/app\.js"/);
      assert.equal((await request(t.app.handler).get('/api/errors')).status, 401, 'the API keeps its auth');
    } finally {
      await t.close();
    }
  });
});
