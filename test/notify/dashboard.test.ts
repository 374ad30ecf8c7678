// The error page's Notifications section in real Chromium: each delivery that named the group, with
// receiver, state, attempts and the last error; a failed one is visible as failed.
import assert from 'node:assert/strict';
import type { Browser, BrowserContext } from 'playwright-core';
import { requireComponent } from '../support/proc.ts';
import { alert, chromiumPresent, launch, openPage, postAlerts, startSite, type Site } from '../dashboard/harness.ts';
import { READ_TOKEN } from '../support/app.ts';

describe('dashboard: notifications on the error page', function () {
  this.timeout(60_000);
  let site: Site;
  let browser: Browser;
  let context: BrowserContext;

  before(async function () {
    requireComponent(this, 'chromium (Debian package)', chromiumPresent());
    site = await startSite();
    browser = await launch();
    context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(8000);
  });
  after(async () => { await context?.close(); await browser?.close(); await site?.close(); });

  it('lists each delivery with receiver, state, attempts and error', async () => {
    await postAlerts(site, [alert('NotifiedCrash', { namespace: 'shop', pod: 'web-1' }, 'Back-off restarting failed container')]);
    const list = await site.ingest.get('/api/errors?q=NotifiedCrash', READ_TOKEN);
    const id = list.body.errors[0].id as number;
    const store = site.t.store;
    const now = Date.now();
    await store.planNotifications({ eventIds: [], marks: [], deliveries: [
      { route: 'oncall', receiver: 'slack-oncall', kind: 'firing', groupIds: [id], message: { groups: [] }, detailed: 1, suppressed: 0, createdAt: now - 2000, notBefore: now - 2000 },
      { route: 'oncall', receiver: 'pagerduty', kind: 'firing', groupIds: [id], message: { groups: [] }, detailed: 1, suppressed: 0, createdAt: now - 1000, notBefore: now - 1000 },
    ] }, now);
    const a = (await store.claimDelivery('me', now, 60_000))!;
    await store.finishDelivery(a.id, 'me', { state: 'sent', at: now });
    const b = (await store.claimDelivery('me', now, 60_000))!;
    await store.finishDelivery(b.id, 'me', { state: 'failed', error: 'max-attempts: gave up after 8 attempts; last: HTTP 503' });

    const { page } = await openPage(context, site.origin);
    await page.goto(`${site.root}/errors/${id}`);
    const rows = page.locator('#notifications tbody tr:not(.empty)');
    await rows.first().waitFor();
    const text = await rows.allTextContents();
    assert.equal(text.length, 2);
    assert.match(text[0], /pagerduty.*firing.*failed.*gave up after 8 attempts/s);
    assert.match(text[1], /slack-oncall.*firing.*sent/s);
    await page.close();
  });
});
