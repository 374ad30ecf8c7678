// Loads `count` distinct ≈1.1 KB alerts (one new group each) in 500-alert posts, four in flight per
// server, spread over the servers given. Shared by npm run bench (e), bench/ha.ts and bench/rss.ts.
import { Agent, request } from 'undici';
import { INGEST_TOKEN } from '../test/support/server-proc.ts';

export interface GroupLoad {
  urls: readonly string[];
  ca: string;
  count: number;
  /** The alerts' description (the bench's: 796 characters, `benchDescription` in bench/wrk.ts). */
  description: string;
  /** alertname prefix and summary word: `Mem` / `memory` unless told. */
  name?: { prefix: string; word: string };
  /** Called before each post with the index of its first alert. */
  onPost?: (from: number) => void;
}

/** Returns the seconds the load took. */
export async function loadGroups(o: GroupLoad): Promise<number> {
  const per = 500;
  const { prefix, word } = o.name ?? { prefix: 'Mem', word: 'memory' };
  const agent = new Agent({ connect: { ca: o.ca }, connections: 4 * o.urls.length });
  let next = 0;
  const started = performance.now();
  const worker = async (url: string): Promise<void> => {
    while (next < o.count) {
      const from = next;
      next += per;
      o.onPost?.(from);
      const alerts = Array.from({ length: Math.min(per, o.count - from) }, (_, i) => ({
        labels: { alertname: `${prefix}_${from + i}`, namespace: `ns-${(from + i) % 50}`, pod: `api-${from + i}`, severity: 'warning' },
        annotations: { summary: `${word} probe ${from + i}`, description: o.description },
      }));
      const res = await request(`${url}/api/v2/alerts`, { method: 'POST', dispatcher: agent, body: JSON.stringify(alerts),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}` } });
      await res.body.text();
      if (res.statusCode !== 200) throw new Error(`load failed: ${res.statusCode}`);
    }
  };
  await Promise.all(o.urls.flatMap((url) => [worker(url), worker(url), worker(url), worker(url)]));
  await agent.close();
  return (performance.now() - started) / 1000;
}
