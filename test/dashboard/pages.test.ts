// The dashboard in real Chromium against a real HTTPS server with seeded data: token prompt, filters
// in the URL, live updates without reloads, the detail page, rules and history.
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { READ_TOKEN } from '../support/app.ts';
import { requireComponent } from '../support/proc.ts';
import { alert, chromiumPresent, launch, openPage, postAlerts, startSite, type Site } from './harness.ts';
import { HOSTILE_TEXT, seed, type Seeded } from './seed.ts';

const rowsOf = (page: Page, table: string) => page.locator(`#${table} tbody tr:not(.empty)`);
/** Row identities (not their text: relative times like "5 s ago" move on between two reads). */
const rowIds = (page: Page, table: string) => rowsOf(page, table).evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.id));
const urlHas = (page: Page, fragment: string) => page.waitForFunction((f) => location.search.includes(f), fragment);
const urlLacks = (page: Page, fragment: string) => page.waitForFunction((f) => !location.search.includes(f), fragment);

describe('dashboard in Chromium: data pages', function () {
  this.timeout(30_000);
  let site: Site;
  let seeded: Seeded;
  let browser: Browser;
  let context: BrowserContext;

  before(async function () {
    requireComponent(this, 'Chromium at /usr/bin/chromium', chromiumPresent());
    site = await startSite({ basePath: '/ks' });
    seeded = await seed(site);
    browser = await launch();
    context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(8000);
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await site?.close();
  });

  it('asks for the read token when the API needs one and keeps it for the tab', async () => {
    const { page } = await openPage(context, site.origin, null);
    await page.goto(`${site.root}/`);
    const dialog = page.locator('#token-dialog');
    await dialog.waitFor({ state: 'visible' });
    await page.fill('#token-input', 'wrong-token');
    await page.press('#token-input', 'Enter');
    await page.locator('#token-error', { hasText: 'not accepted' }).waitFor();
    await page.fill('#token-input', READ_TOKEN);
    await page.click('#token-form button[type=submit]');
    await page.locator('[data-testid=firing-P1]').waitFor();
    await page.reload();
    await page.locator('[data-testid=firing-P1]').waitFor();
    assert.equal(await dialog.isVisible(), false, 'the token survives a reload of the tab');
    await page.close();
  });

  it('overview shows counts by priority, newest P1/P2, ingest, remediation, health and the dry-run banner', async () => {
    const { page } = await openPage(context, site.origin);
    await page.goto(`${site.root}/`);
    const stats = (await site.ingest.get('/api/stats', READ_TOKEN)).body;
    await page.locator('#connection[data-state=live]').waitFor();
    assert.equal(await page.textContent('[data-testid=firing-P1]'), String(stats.firingByPriority.P1));
    assert.equal(await page.textContent('[data-testid=firing-P4]'), String(stats.firingByPriority.P4));
    assert.ok((await rowsOf(page, 'urgent').allTextContents()).some((t) => t.includes('PodCrash')));
    assert.match(await page.textContent('main') ?? '', /Occurrences, last hour/);
    assert.match(await page.textContent('main') ?? '', /Pending requests/);
    assert.match(await page.textContent('main') ?? '', /Readiness\s*ready/);
    assert.match(await page.textContent('#banner') ?? '', /Dry-run/);
    await page.close();
  });

  it('filters change the list and the URL, and the URL brings them back', async () => {
    const { page } = await openPage(context, site.origin);
    await page.goto(`${site.root}/errors`);
    await rowsOf(page, 'errors-table').first().waitFor();
    assert.equal(await rowsOf(page, 'errors-table').count(), Math.min(50, seeded.total));

    await page.check('input[name=priority][value=P1]');
    await urlHas(page, 'priority=P1');
    await page.locator('#errors-summary', { hasText: /^3 error groups/ }).waitFor();
    for (const badge of await page.locator('#errors-table tbody .badge').allTextContents()) assert.equal(badge, 'P1');

    await page.fill('input[name=namespace]', 'shop');
    await page.press('input[name=namespace]', 'Enter');
    await urlHas(page, 'namespace=shop');
    await page.selectOption('select[name=source]', 'event');
    await urlHas(page, 'source=event');
    await page.locator('#errors-summary', { hasText: /^1 error group / }).waitFor();
    assert.match(await rowsOf(page, 'errors-table').first().textContent() ?? '', /BackOff/);

    await page.selectOption('select[name=source]', '');
    await urlLacks(page, 'source=');
    await page.click('#errors-table th button:has-text("Count")');
    await urlHas(page, 'sort=count');
    await page.locator('#errors-table th[aria-sort=descending]', { hasText: 'Count' }).waitFor();
    const shared = page.url();
    const shownRows = await rowIds(page, 'errors-table');

    // Someone opens the shared link: same filters in the controls, same rows.
    const { page: other } = await openPage(context, site.origin);
    await other.goto(shared);
    await other.locator('#errors-table').waitFor();
    assert.equal(await other.isChecked('input[name=priority][value=P1]'), true);
    assert.equal(await other.isChecked('input[name=priority][value=P2]'), false);
    assert.equal(await other.inputValue('input[name=namespace]'), 'shop');
    assert.deepEqual(await rowIds(other, 'errors-table'), shownRows);
    await other.close();

    await page.fill('input[name=q]', 'OOMKilled');
    await urlHas(page, 'q=OOMKilled');
    await page.locator('#errors-summary', { hasText: /^1 error group / }).waitFor();
    await page.click('button:has-text("Reset")');
    await urlLacks(page, 'namespace');
    await page.locator('#errors-summary', { hasText: `${seeded.total} error groups` }).waitFor();
    await page.close();
  });

  it('paginates, and says so when a filter matches nothing', async () => {
    const { page } = await openPage(context, site.origin);
    await page.goto(`${site.root}/errors?page_size=25`);
    const pages = Math.ceil(seeded.total / 25);
    await page.locator('.pager-status', { hasText: `Page 1 of ${pages}` }).waitFor();
    const first = await rowIds(page, 'errors-table');
    await page.click('.pager button:has-text("Next")');
    await urlHas(page, 'page=2');
    await page.locator('.pager-status', { hasText: `Page 2 of ${pages}` }).waitFor();
    const second = await rowIds(page, 'errors-table');
    assert.equal(second.length, Math.min(25, seeded.total - 25));
    assert.ok(!second.some((id) => first.includes(id)), 'page 2 shows other groups');
    await page.goto(`${site.root}/errors?namespace=nowhere`);
    await page.locator('#errors-table tr.empty', { hasText: 'No errors match these filters.' }).waitFor();
    await page.close();
  });

  it('shows an alert posted during the test without a reload, and the indicator tells the truth', async () => {
    const { page } = await openPage(context, site.origin);
    await page.goto(`${site.root}/errors?namespace=live`);
    await page.locator('#errors-table tr.empty').waitFor();
    await page.locator('#connection[data-state=live]').waitFor();
    await page.evaluate(() => { (window as unknown as { marker: number }).marker = 42; });

    await postAlerts(site, [alert('LiveOne', { namespace: 'live' }, 'Readiness probe failed: connection refused')]);
    await rowsOf(page, 'errors-table').filter({ hasText: 'LiveOne' }).waitFor();

    // Drop every socket: the indicator must say so, then reconnect by itself.
    await site.replaceLive();
    await page.locator('#connection[data-state=offline]', { hasText: /Offline, retrying in \d+ s/ }).waitFor();
    await page.locator('#connection[data-state=live]').waitFor();
    await postAlerts(site, [alert('LiveTwo', { namespace: 'live' }, 'Readiness probe failed again')]);
    await rowsOf(page, 'errors-table').filter({ hasText: 'LiveTwo' }).waitFor();
    assert.equal(await page.evaluate(() => (window as unknown as { marker: number }).marker), 42, 'the page was never reloaded');
    await page.close();
  });

  it('detail page shows the message as text, why, remediation history and kubectl commands', async () => {
    const { page } = await openPage(context, site.origin);
    await page.goto(`${site.root}/errors?q=PodCrash`);
    await page.click('#errors-table a:has-text("PodCrash")');
    await page.waitForURL(`${site.root}/errors/${seeded.crashId}`);
    const history = rowsOf(page, 'remediation-history');
    await history.first().waitFor();
    const rows = await history.allTextContents();
    assert.equal(rows.length, 2);
    assert.ok(rows[0].includes('skipped') && rows[0].includes('cooldown'), rows[0]);
    assert.ok(rows[1].includes('dry-run'), rows[1]);
    assert.ok((await page.textContent('pre.message'))?.includes(HOSTILE_TEXT), 'hostile text is shown verbatim');
    assert.equal(await page.locator('main img, main script').count(), 0, 'and never interpreted');
    assert.notEqual(await page.title(), 'pwned');
    assert.match(await page.textContent('main') ?? '', /Matched rule crashloop-backoff/);
    const commands = await page.locator('#kubectl code').allTextContents();
    assert.ok(commands.includes('kubectl -n shop describe pod web-7d9f8b6c5-x2k4q'), commands.join('\n'));
    assert.ok(commands.includes('kubectl -n shop logs web-7d9f8b6c5-x2k4q -c web --previous'));
    assert.ok(await page.locator('.chart rect').count() > 0, 'counts over time are drawn');
    await page.click('a:has-text("See this in the remediation history")');
    await urlHas(page, `group_id=${seeded.crashId}`);
    await page.locator('#history-table tbody tr:not(.empty)').first().waitFor();
    assert.equal(await rowsOf(page, 'history-table').count(), 2);
    await page.close();
  });

  it('rules page lists every rule with hits and classifies a sample', async () => {
    const { page } = await openPage(context, site.origin);
    await page.goto(`${site.root}/rules`);
    await rowsOf(page, 'rules-table').first().waitFor();
    const rules = (await site.ingest.get('/api/rules', READ_TOKEN)).body;
    assert.equal(await rowsOf(page, 'rules-table').count(), rules.rules.length + 1, 'every rule plus the no-match row');
    const crash = rules.rules.find((r: { name: string }) => r.name === 'crashloop-backoff');
    assert.equal(await page.textContent('[data-hits="crashloop-backoff"]'), String(crash.hits));
    await page.fill('textarea[name=message]', 'Back-off restarting failed container app');
    await page.fill('textarea[name=labels]', 'namespace=shop\nseverity=critical');
    await page.click('#rule-test button[type=submit]');
    const result = page.locator('#rule-test-result .test-result');
    await result.waitFor();
    assert.match(await result.textContent() ?? '', /P1.*matched crashloop-backoff/s);
    await page.click('summary:has-text("paste a whole payload")');
    await page.fill('textarea[name=payload]', '{not json');
    await page.click('#rule-test button[type=submit]');
    await page.locator('#rule-test-result .error-box', { hasText: 'not valid JSON' }).waitFor();
    await page.close();
  });

  it('history filters by outcome and reason, in the URL', async () => {
    const { page } = await openPage(context, site.origin);
    await page.goto(`${site.root}/history`);
    await rowsOf(page, 'history-table').first().waitFor();
    assert.equal(await rowsOf(page, 'history-table').count(), 2);
    await page.selectOption('select[name=outcome]', 'skipped');
    await urlHas(page, 'outcome=skipped');
    await page.waitForFunction(() => document.querySelectorAll('#history-table tbody tr:not(.empty)').length === 1);
    assert.match(await rowsOf(page, 'history-table').first().textContent() ?? '', /cooldown/);
    await page.selectOption('select[name=outcome]', '');
    await page.fill('input[name=reason]', 'dry-run');
    await page.press('input[name=reason]', 'Enter');
    await urlHas(page, 'reason=dry-run');
    await page.waitForFunction(() => document.querySelectorAll('#history-table tbody tr:not(.empty)').length === 1);
    assert.match(await rowsOf(page, 'history-table').first().textContent() ?? '', /dry-run/);
    await page.close();
  });
});
