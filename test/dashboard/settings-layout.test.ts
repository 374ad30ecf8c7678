// The dashboard in real Chromium: settings and who may change them, every page at desktop and phone
// width in both colour schemes (screenshots under test-output/dashboard/), keyboard use, empty data.
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN_TOKEN, INGEST_TOKEN, READ_TOKEN } from '../support/app.ts';
import { requireComponent } from '../support/proc.ts';
import { chromiumPresent, launch, openPage, screenshot, startSite, type Site } from './harness.ts';
import { seed, type Seeded } from './seed.ts';

const VIEWPORTS = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } } as const;

function pages(seeded: Seeded): Array<{ name: string; path: string; ready: string }> {
  return [
    { name: 'overview', path: '/', ready: '#urgent' },
    { name: 'errors', path: '/errors', ready: '#errors-table' },
    { name: 'error-detail', path: `/errors/${seeded.crashId}`, ready: '#remediation-history' },
    { name: 'rules', path: '/rules', ready: '#rules-table' },
    { name: 'history', path: '/history', ready: '#history-table' },
    { name: 'settings', path: '/settings', ready: '#settings-form' },
  ];
}

const pageWidth = (page: Page) => page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, view: window.innerWidth }));

describe('dashboard in Chromium: settings, layout, keyboard', function () {
  this.timeout(40_000);
  let site: Site;
  let seeded: Seeded;
  let browser: Browser;
  let context: BrowserContext;

  before(async function () {
    requireComponent(this, 'Chromium at /usr/bin/chromium', chromiumPresent());
    site = await startSite();
    seeded = await seed(site);
    browser = await launch();
    context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: VIEWPORTS.desktop });
    context.setDefaultTimeout(8000);
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await site?.close();
  });

  it('settings changes require the admin token, and changes from elsewhere arrive live', async () => {
    const { page } = await openPage(context, site.origin);
    await page.goto(`${site.root}/settings`);
    await page.locator('#connection[data-state=live]').waitFor();
    await page.locator('#banner', { hasText: 'Dry-run' }).waitFor();
    const dialog = page.locator('#token-dialog');

    await page.fill('#setting-budget', '7');
    await page.click('#settings-form button[type=submit]');
    await dialog.waitFor({ state: 'visible' });
    assert.match(await page.textContent('#token-title') ?? '', /Admin token/);
    await page.click('#token-cancel');
    await page.locator('#settings-status', { hasText: 'Not saved: an admin token is needed.' }).waitFor();
    assert.equal((await site.ingest.get('/api/settings', READ_TOKEN)).body.maxActionsPerHour, 10, 'nothing changed');

    await page.uncheck('#setting-dry-run');
    await page.click('#settings-form button[type=submit]');
    await page.fill('#token-input', READ_TOKEN);
    await page.press('#token-input', 'Enter');
    await page.locator('#token-error', { hasText: 'not accepted' }).waitFor();
    assert.equal((await site.ingest.get('/api/settings', READ_TOKEN)).body.dryRun, true, 'a read token cannot change settings');
    await page.fill('#token-input', ADMIN_TOKEN);
    await page.press('#token-input', 'Enter');
    await page.locator('#settings-status', { hasText: 'Saved.' }).waitFor();
    const saved = (await site.ingest.get('/api/settings', READ_TOKEN)).body;
    assert.equal(saved.dryRun, false);
    assert.equal(saved.maxActionsPerHour, 7);
    await page.locator('#banner').waitFor({ state: 'hidden' });

    // Someone else turns dry-run back on: the form and the banner follow without a reload.
    const r = await site.ingest.post('/api/settings', { dry_run: true }, ADMIN_TOKEN);
    assert.equal(r.status, 200, r.text);
    await page.locator('#settings-status', { hasText: 'updated elsewhere' }).waitFor();
    assert.equal(await page.isChecked('#setting-dry-run'), true);
    await page.locator('#banner', { hasText: 'Dry-run' }).waitFor();

    // The admin token is remembered for the page's lifetime only.
    await page.fill('#setting-budget', '10');
    await page.click('#settings-form button[type=submit]');
    await page.locator('#settings-status', { hasText: 'Saved.' }).waitFor();
    assert.equal(await dialog.isVisible(), false);
    await page.close();
  });

  it('every page: no console errors, no foreign requests, fits a phone, honours the colour scheme', async () => {
    const backgrounds = new Set<string>();
    for (const [viewportName, viewport] of Object.entries(VIEWPORTS)) {
      for (const scheme of ['light', 'dark'] as const) {
        if (viewportName === 'phone' && scheme === 'dark') continue;
        const watched = await openPage(context, site.origin);
        const { page } = watched;
        await page.setViewportSize(viewport);
        await page.emulateMedia({ colorScheme: scheme });
        for (const p of pages(seeded)) {
          await page.goto(`${site.root}${p.path}`);
          await page.locator(p.ready).waitFor();
          await page.locator('#connection[data-state=live]').waitFor();
          const { scroll, view } = await pageWidth(page);
          assert.ok(scroll <= view, `${p.name} at ${viewportName}: page is ${scroll}px wide in a ${view}px viewport`);
          await screenshot(page, `${p.name}-${viewportName}-${scheme}`);
        }
        backgrounds.add(await page.evaluate(() => getComputedStyle(document.body).backgroundColor));
        assert.deepEqual(watched.problems, [], `${viewportName}/${scheme}: ${watched.problems.join('\n')}`);
        assert.deepEqual(watched.foreign, [], 'nothing but this server is ever asked for anything');
        await page.close();
      }
    }
    assert.equal(backgrounds.size, 2, 'dark and light schemes differ');
  });

  it('keyboard: skip link, navigation and sorting work without a mouse', async () => {
    const { page } = await openPage(context, site.origin);
    await page.goto(`${site.root}/`);
    await page.locator('#urgent').waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.className), 'skip-link');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.id === 'main');

    const tabTo = async (match: (el: { text: string; tag: string }) => boolean, limit: number) => {
      for (let i = 0; i < limit; i++) {
        await page.keyboard.press('Tab');
        const el = await page.evaluate(() => ({ text: document.activeElement?.textContent?.trim() ?? '', tag: document.activeElement?.tagName ?? '' }));
        if (match(el)) return;
      }
      assert.fail('never reached the control by keyboard');
    };
    // From the top of a fresh page: skip link, brand, Overview, Errors.
    await page.reload();
    await page.locator('#urgent').waitFor();
    await tabTo((el) => el.tag === 'A' && el.text === 'Errors', 6);
    await page.keyboard.press('Enter');
    await page.locator('#errors-table').waitFor();
    assert.equal(new URL(page.url()).pathname, '/errors');
    await tabTo((el) => el.tag === 'BUTTON' && el.text.startsWith('Count'), 40);
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.searchParams.get('sort') === 'count');
    await page.close();
  });

  it('on the dashboard role the settings controls are disabled, and the page says why', async () => {
    const ro = await startSite({ config: { role: 'dashboard' } });
    const own = await browser.newContext({ ignoreHTTPSErrors: true, viewport: VIEWPORTS.desktop });
    own.setDefaultTimeout(8000);
    try {
      const { page, problems } = await openPage(own, ro.origin);
      await page.goto(`${ro.root}/settings`);
      await page.locator('#settings-form').waitFor();
      assert.equal(await page.isDisabled('#setting-dry-run'), true);
      assert.equal(await page.isDisabled('#setting-budget'), true);
      assert.equal(await page.isDisabled('#settings-form button[type=submit]'), true);
      assert.match(await page.textContent('#settings-explanation') ?? '', /read-only "dashboard" role/);
      await screenshot(page, 'settings-dashboard-role');
      assert.deepEqual(problems, []);
    } finally {
      await own.close();
      await ro.close();
    }
  });

  it('an empty server with no read or admin token: no prompt, empty states, controls explained', async () => {
    const open = await startSite({ tokens: { ingest: [INGEST_TOKEN], read: [], admin: [] } });
    const own = await browser.newContext({ ignoreHTTPSErrors: true, viewport: VIEWPORTS.desktop });
    own.setDefaultTimeout(8000);
    try {
      const { page, problems } = await openPage(own, open.origin, null);
      await page.goto(`${open.root}/`);
      await page.locator('#urgent tr.empty', { hasText: 'No P1 or P2 errors' }).waitFor();
      await page.goto(`${open.root}/errors`);
      await page.locator('#errors-table tr.empty', { hasText: 'No errors recorded yet' }).waitFor();
      await page.goto(`${open.root}/history`);
      await page.locator('#history-table tr.empty', { hasText: 'No remediation decisions yet' }).waitFor();
      await page.goto(`${open.root}/errors/999`);
      await page.locator('h1', { hasText: 'Error not found' }).waitFor();
      await page.goto(`${open.root}/settings`);
      assert.match(await page.textContent('#settings-explanation') ?? '', /No admin token is configured/);
      assert.equal(await page.isDisabled('#settings-form button[type=submit]'), true);
      await page.locator('#connection[data-state=live]').waitFor();
      assert.equal(await page.locator('#token-dialog').isVisible(), false);
      const notFound = problems.filter((p) => !p.includes('404'));
      assert.deepEqual(notFound, [], 'only the deliberate 404 of group 999 is logged');
    } finally {
      await own.close();
      await open.close();
    }
  });
});
