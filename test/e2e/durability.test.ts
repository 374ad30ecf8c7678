// Durability: while a client streams POSTs, kill -9 the server. After a restart on the same data
// directory every acknowledged (2xx) alert must be present — "2xx only after commit".
import assert from 'node:assert/strict';
import { builtServerPresent, requireComponent } from '../support/proc.ts';
import { READ_TOKEN, startServer, type ServerProc } from '../support/server-proc.ts';

describe('e2e: durability across kill -9', function () {
  this.timeout(90_000);
  let server: ServerProc | null = null;

  before(function () {
    requireComponent(this, 'the built server (npm run build)', builtServerPresent());
  });
  after(async () => { await server?.stop('SIGKILL'); });

  it('keeps every acknowledged alert', async () => {
    server = await startServer();
    const acked = new Set<string>();
    let sent = 0;
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const name = `Durable_${w}_${i}`;
        sent++;
        try {
          const r = await server!.client.post('/api/v2/alerts', [{
            labels: { alertname: name, namespace: 'durability', severity: 'warning' },
            annotations: { summary: `durability probe ${w}/${i}` },
            startsAt: new Date().toISOString(),
          }]);
          if (r.status === 200) acked.add(name);
        } catch {
          return; // the connection died with the server
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    await new Promise((r) => setTimeout(r, 1500));
    server.proc.child.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    await server.proc.exited;
    assert.ok(acked.size > 50, `expected a real stream before the kill, got ${acked.size} acks of ${sent}`);

    // Restart on the same files: the stale lock of the killed process must not block it.
    server = await server.restart();
    const found = new Set<string>();
    for (let page = 1; ; page++) {
      const r: { status: number; body: { errors: Array<{ title: string }> } } = await server.client.get(`/api/errors?namespace=durability&page_size=500&page=${page}`, READ_TOKEN);
      assert.equal(r.status, 200);
      for (const g of r.body.errors) found.add(g.title);
      if (r.body.errors.length < 500) break;
    }
    const lost = [...acked].filter((n) => !found.has(n));
    assert.deepEqual(lost, [], `${lost.length} of ${acked.size} acknowledged alerts were lost`);
  });
});
