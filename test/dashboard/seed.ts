// Seed data for the browser tests, posted through the real ingest API (plus audit rows written
// straight to the store, since no cluster runs here to produce real remediations).
import { READ_TOKEN } from '../support/app.ts';
import { alert, postAlerts, type Site } from './harness.ts';

export const HOSTILE_TEXT = '<img src=x onerror="document.title=\'pwned\'"> & <script>alert(1)</script>';
const NOISE_GROUPS = 30;

export interface Seeded {
  crashId: number;
  total: number;
}

export async function seed(site: Site): Promise<Seeded> {
  await postAlerts(site, [
    alert('PodCrash', { namespace: 'shop', pod: 'web-7d9f8b6c5-x2k4q', container: 'web', severity: 'critical' },
      `Back-off restarting failed container web in pod web-7d9f8b6c5-x2k4q ${HOSTILE_TEXT}`),
    alert('Oom', { namespace: 'shop', pod: 'db-0' }, 'Container killed: OOMKilled'),
    alert('Slow', { namespace: 'billing' }, 'upstream request timed out after 30s'),
    alert('Weird', { namespace: 'billing' }, 'something odd happened'),
    // Long, unbroken text must wrap or scroll inside its box, never widen the page.
    alert('Huge', { namespace: 'billing', blob: 'y'.repeat(3000) }, `${'x'.repeat(20_000)} end`),
    ...Array.from({ length: NOISE_GROUPS }, (_, i) => alert(`Noise${i}`, { namespace: 'batch' }, `batch step ${i} reported a warning`)),
  ]);
  const now = new Date().toISOString();
  const event = await site.ingest.post('/webhooks/events', {
    apiVersion: 'v1', kind: 'Event',
    metadata: { name: 'api.17a', namespace: 'shop', uid: 'b1c2d3e4-0000-4000-8000-0000000000aa' },
    involvedObject: { kind: 'Pod', name: 'api-5f6d7c8b9-abcde', namespace: 'shop' },
    reason: 'BackOff', message: 'Back-off restarting failed container api in pod api-5f6d7c8b9-abcde',
    type: 'Warning', count: 2, firstTimestamp: now, lastTimestamp: now,
  });
  if (event.status !== 200) throw new Error(`event ingest answered ${event.status}: ${event.text}`);

  const list = await site.ingest.get('/api/errors?q=PodCrash', READ_TOKEN);
  const crashId = list.body.errors[0].id as number;
  const base = { requestId: null, groupId: crashId, rule: 'crashloop-backoff', action: 'restart-pod' as const, namespace: 'shop', actor: 'ks-0-abc12' };
  await site.t.store.appendAudit({
    ...base, at: Date.now() - 120_000, target: 'Pod/web-7d9f8b6c5-x2k4q', outcome: 'dry-run', reason: 'dry-run',
    message: 'dry-run is on: every guard passed, would act', cooldownKey: 'crashloop-backoff|restart-pod|shop/Pod/web-7d9f8b6c5-x2k4q',
  });
  await site.t.store.appendAudit({
    ...base, at: Date.now() - 60_000, target: 'Pod/web-7d9f8b6c5-x2k4q', outcome: 'skipped', reason: 'cooldown',
    message: 'restart-pod on Pod/web-7d9f8b6c5-x2k4q acted 1m ago; cooldown 5m', cooldownKey: 'crashloop-backoff|restart-pod|shop/Pod/web-7d9f8b6c5-x2k4q',
  });
  const all = await site.ingest.get('/api/errors?page_size=1', READ_TOKEN);
  return { crashId, total: all.body.total as number };
}
