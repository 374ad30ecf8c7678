// The /ws live feed: who gets in (token as subprotocol, origin check, path), what they receive (feed
// messages from a real app over TLS), and how dead or slow clients are dropped.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect as netConnect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { TokenSet } from '../../src/http/auth.ts';
import { LiveFeed } from '../../src/feed.ts';
import {
  createLiveSocket, decideUpgrade, LIVE_PROTOCOL, sameOrigin, tokenFromProtocols, type LiveSocket, type LiveSocketOptions, type UpgradeRequest,
} from '../../src/http/live-socket.ts';
import { listen, type ListeningServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { ADMIN_TOKEN, INGEST_TOKEN, READ_TOKEN, makeApp, type TestApp } from '../support/app.ts';
import { TestClient } from '../support/client.ts';
import { testPki } from '../support/pki.ts';

const asProtocol = (token: string) => `bearer.${Buffer.from(token).toString('base64url')}`;

function quietLogger(lines: string[] = []) {
  return createLogger({ level: 'debug', destination: new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }) });
}

interface Refusal { status: number; body: string }

type Inbox = ReturnType<typeof inbox>;
const inboxes = new WeakMap<WebSocket, Inbox>();
/** Messages received so far (collected from the start: `hello` arrives together with the handshake). */
const boxOf = (ws: WebSocket): Inbox => inboxes.get(ws)!;

/** Opens a client; resolves with the socket, or rejects with the HTTP status the server refused with. */
function open(url: string, opts: { protocols?: string[]; origin?: string; headers?: Record<string, string>; ca?: string; autoPong?: boolean } = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, opts.protocols ?? [LIVE_PROTOCOL], {
    headers: opts.headers, origin: opts.origin, ca: opts.ca, autoPong: opts.autoPong ?? true,
  });
  inboxes.set(ws, inbox(ws));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c; });
      res.on('end', () => reject({ status: res.statusCode ?? 0, body } satisfies Refusal));
    });
    ws.once('error', reject);
  });
}

async function refusal(p: Promise<WebSocket>): Promise<Refusal> {
  try {
    const ws = await p;
    ws.terminate();
  } catch (err) {
    return err as Refusal;
  }
  throw new Error('the handshake was accepted');
}

/** Collects parsed messages; next() waits for the first one matching. */
function inbox(ws: WebSocket) {
  const seen: any[] = [];
  const waiters: Array<{ match: (m: any) => boolean; resolve: (m: any) => void }> = [];
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data));
    seen.push(msg);
    for (const w of [...waiters]) if (w.match(msg)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(msg); }
  });
  return {
    seen,
    next(match: (m: any) => boolean): Promise<any> {
      const hit = seen.find(match);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}

describe('live socket: admission rules (pure)', () => {
  const tokens = { readTokens: new TokenSet({ tokens: [READ_TOKEN] }), adminTokens: new TokenSet({ tokens: [ADMIN_TOKEN] }) };
  const base: UpgradeRequest = { path: '/ks/ws', host: 'ks.example:8443', origin: 'https://ks.example:8443', protocols: `${LIVE_PROTOCOL}, ${asProtocol(READ_TOKEN)}`, authorization: null };
  const decide = (over: Partial<UpgradeRequest>, clients = 0) =>
    decideUpgrade({ ...base, ...over }, { basePath: '/ks', ...tokens, clients, maxClients: 2 });

  it('admits the right path, origin and token, and names each refusal', () => {
    assert.deepEqual(decide({}), { ok: true });
    assert.deepEqual(decide({ path: '/ws' }), { ok: false, reason: 'wrong-path' });
    assert.deepEqual(decide({ origin: 'https://evil.example' }), { ok: false, reason: 'origin-mismatch' });
    assert.deepEqual(decide({ origin: 'null' }), { ok: false, reason: 'origin-mismatch' });
    assert.deepEqual(decide({ protocols: LIVE_PROTOCOL }), { ok: false, reason: 'missing-token' });
    assert.deepEqual(decide({ protocols: `${LIVE_PROTOCOL},${asProtocol(INGEST_TOKEN)}` }), { ok: false, reason: 'invalid-token' });
    assert.deepEqual(decide({ protocols: LIVE_PROTOCOL, authorization: ADMIN_TOKEN }), { ok: true });
    assert.deepEqual(decide({}, 2), { ok: false, reason: 'too-many-clients' });
  });

  it('decodes the subprotocol token and rejects garbage without throwing', () => {
    assert.equal(tokenFromProtocols(`${LIVE_PROTOCOL}, ${asProtocol('a/b+c=d é')}`), 'a/b+c=d é');
    assert.equal(tokenFromProtocols(LIVE_PROTOCOL), null);
    assert.equal(tokenFromProtocols('bearer.not base64!'), '');
    assert.equal(tokenFromProtocols(undefined), null);
  });

  it('treats a missing Origin as a non-browser client and compares hosts case-insensitively', () => {
    assert.equal(sameOrigin(undefined, 'h:1'), true);
    assert.equal(sameOrigin('https://H:1', 'h:1'), true);
    assert.equal(sameOrigin('https://h:2', 'h:1'), false);
    assert.equal(sameOrigin('https://h:1', undefined), false);
  });

  it('compares the scheme too: only https:// pages of this host are same-origin', () => {
    assert.equal(sameOrigin('http://h:1', 'h:1'), false);
    assert.equal(sameOrigin('wss://h:1', 'h:1'), false);
    assert.equal(sameOrigin('null', 'h:1'), false);
    assert.equal(sameOrigin('https://h', 'h:443'), true, 'default port spelled or not');
  });
});

describe('live socket over HTTP', () => {
  let server: Server;
  let live: LiveSocket;
  let feed: LiveFeed;
  let url: string;
  let origin: string;
  let ticks: Array<() => void>;
  const logLines: string[] = [];

  async function start(extra: Partial<LiveSocketOptions> = {}, read = [READ_TOKEN]) {
    feed = new LiveFeed({ loadGroup: async () => null });
    ticks = [];
    live = createLiveSocket({
      feed, readTokens: new TokenSet({ tokens: read }), adminTokens: new TokenSet({ tokens: [ADMIN_TOKEN] }),
      basePath: '/ks', logger: quietLogger(logLines), now: () => Date.parse('2024-05-01T10:00:00Z'),
      every: (fn) => { ticks.push(fn); return () => { ticks = ticks.filter((f) => f !== fn); }; },
      ...extra,
    });
    server = createServer((_req, res) => { res.statusCode = 404; res.end(); });
    server.on('upgrade', live.onUpgrade);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    url = `ws://127.0.0.1:${port}/ks/ws`;
    origin = `https://127.0.0.1:${port}`; // the page origin a browser would send (the real server is HTTPS-only)
  }
  async function stop() {
    await live.close();
    server.close();
  }
  const withToken = (token = READ_TOKEN) => [LIVE_PROTOCOL, asProtocol(token)];

  describe('handshake', () => {
    before(() => start());
    after(() => stop());

    it('accepts the read token as a subprotocol and echoes only the feed protocol', async () => {
      const ws = await open(url, { protocols: withToken(), origin });
      assert.equal(ws.protocol, LIVE_PROTOCOL);
      const hello = await boxOf(ws).next((m) => m.type === 'hello');
      assert.equal(hello.protocol, LIVE_PROTOCOL);
      ws.close();
      await once(ws, 'close');
    });

    it('accepts an admin token, and a bearer header from non-browser clients', async () => {
      (await open(url, { protocols: withToken(ADMIN_TOKEN), origin })).terminate();
      (await open(url, { headers: { authorization: `Bearer ${READ_TOKEN}` } })).terminate();
    });

    it('refuses a missing or wrong token with 401 and the error envelope', async () => {
      const missing = await refusal(open(url, { origin }));
      assert.equal(missing.status, 401);
      assert.equal(JSON.parse(missing.body).error.code, 'unauthorized');
      assert.equal((await refusal(open(url, { protocols: withToken(INGEST_TOKEN), origin }))).status, 401);
      assert.equal((await refusal(open(url, { protocols: withToken('nope'), origin }))).status, 401);
    });

    it('refuses another origin with 403 even with a good token', async () => {
      const r = await refusal(open(url, { protocols: withToken(), origin: 'https://attacker.example' }));
      assert.equal(r.status, 403);
    });

    it('refuses unknown paths with 404 (the token never goes in the URL)', async () => {
      assert.equal((await refusal(open(url.replace('/ks/ws', '/ws'), { protocols: withToken(), origin }))).status, 404);
      assert.equal((await refusal(open(`${url}/x`, { protocols: withToken(), origin }))).status, 404);
    });
  });

  describe('feed and lifecycle', () => {
    beforeEach(() => start({ maxBufferedBytes: 64 * 1024 }));
    afterEach(() => stop());

    it('forwards every feed message as JSON and stops listening when the last client leaves', async () => {
      const ws = await open(url, { protocols: withToken(), origin });
      const box = boxOf(ws);
      await box.next((m) => m.type === 'hello');
      assert.equal(feed.listenerCount, 1);
      const settings = { enabled: false, dryRun: true, maxActionsPerHour: 3 };
      feed.publish({ type: 'settings', settings });
      assert.deepEqual((await box.next((m) => m.type === 'settings')).settings, settings);
      ws.close();
      await once(ws, 'close');
      await waitUntil(() => feed.listenerCount === 0);
      assert.equal(live.clientCount, 0);
    });

    it('drops a client that stops answering pings and keeps one that answers', async () => {
      const dead = await open(url, { protocols: withToken(), origin, autoPong: false });
      const ok = await open(url, { protocols: withToken(), origin });
      const okBox = boxOf(ok);
      const deadClosed = once(dead, 'close');
      assert.equal(ticks.length, 1, 'one heartbeat timer for all clients');
      ticks[0]();
      assert.equal((await okBox.next((m) => m.type === 'heartbeat')).at, '2024-05-01T10:00:00.000Z');
      // Frames are ordered: once the server answers our ping, it has read our earlier pong.
      ok.ping();
      await once(ok, 'pong');
      ticks[0]();
      await deadClosed;
      await waitUntil(() => live.clientCount === 1);
      assert.equal(ok.readyState, WebSocket.OPEN);
      ok.terminate();
    });

    it('drops a client that does not read instead of buffering without bound', async () => {
      const stalled = await rawStalledClient(url, origin, withToken());
      const big = 'x'.repeat(256 * 1024);
      const settings = { enabled: true, dryRun: false, maxActionsPerHour: 1, padding: big } as never;
      // Loopback socket buffers absorb a few MB first; 400 × 256 KB is far beyond them.
      for (let i = 0; i < 400 && live.clientCount > 0; i++) {
        feed.publish({ type: 'settings', settings });
        await yieldToIo();
      }
      assert.equal(live.clientCount, 0, 'the stalled client was dropped');
      assert.ok(logLines.some((l) => l.includes('too slow')), 'the drop is logged');
      stalled.destroy();
    });

    it('close() sends 1001 to connected clients and refuses new ones', async () => {
      const ws = await open(url, { protocols: withToken(), origin });
      const closed = once(ws, 'close');
      await live.close();
      const [code] = await closed;
      assert.equal(code, 1001);
      assert.equal((await refusal(open(url, { protocols: withToken(), origin }))).status, 503);
    });
  });

  describe('without read tokens', () => {
    before(() => start({}, []));
    after(() => stop());

    it('is open like the read API, but still checks the origin', async () => {
      (await open(url, { origin })).terminate();
      assert.equal((await refusal(open(url, { origin: 'https://attacker.example' }))).status, 403);
    });
  });
});

describe('live socket on the real app over TLS', () => {
  let t: TestApp;
  let listener: ListeningServer;
  let live: LiveSocket;
  let ca: string;
  let client: TestClient;

  before(async () => {
    const pki = await testPki();
    ca = pki.ca;
    t = await makeApp();
    live = createLiveSocket({
      feed: t.app.feed, readTokens: new TokenSet({ tokens: [READ_TOKEN] }), adminTokens: new TokenSet({ tokens: [ADMIN_TOKEN] }),
      basePath: '', logger: quietLogger(),
    });
    listener = await listen({ handler: t.app.handler, tls: { certFile: pki.certFile, keyFile: pki.keyFile }, listen: '127.0.0.1:0', onUpgrade: live.onUpgrade });
    client = new TestClient({ base: listener.url, ca, token: INGEST_TOKEN });
  });
  after(async () => {
    await live.close();
    await client.close();
    await listener.close();
    await t.close();
  });

  it('delivers a group posted through ingest and a settings change', async () => {
    const ws = await open(`wss://127.0.0.1:${listener.port}/ws`, { protocols: [LIVE_PROTOCOL, asProtocol(READ_TOKEN)], origin: listener.url, ca });
    const box = boxOf(ws);
    await box.next((m) => m.type === 'hello');
    const posted = await client.post('/api/v2/alerts', [{
      labels: { alertname: 'PodCrash', namespace: 'shop', pod: 'web-7d9f8b6c5-x2k4q' },
      annotations: { summary: 'Back-off restarting failed container web in pod web-7d9f8b6c5-x2k4q' },
    }]);
    assert.equal(posted.status, 200, posted.text);
    const { group } = await box.next((m) => m.type === 'group');
    assert.equal(group.title, 'PodCrash');
    assert.equal(group.namespace, 'shop');
    assert.equal(group.priority, 'P1');

    const changed = await client.post('/api/settings', { dryRun: true }, ADMIN_TOKEN);
    assert.equal(changed.status, 200, changed.text);
    const { settings } = await box.next((m) => m.type === 'settings');
    assert.equal(settings.dryRun, true);
    ws.close();
  });
});

async function waitUntil(cond: () => boolean, limit = 500): Promise<void> {
  for (let i = 0; i < limit && !cond(); i++) await yieldToIo();
  assert.ok(cond(), 'condition never became true');
}

/** A hand-rolled client that completes the handshake and then never reads another byte. */
async function rawStalledClient(url: string, origin: string, protocols: string[]) {
  const u = new URL(url);
  const socket = netConnect(Number(u.port), u.hostname);
  await once(socket, 'connect');
  socket.write([
    `GET ${u.pathname} HTTP/1.1`, `Host: ${u.host}`, 'Upgrade: websocket', 'Connection: Upgrade',
    'Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${Buffer.from('0123456789abcdef').toString('base64')}`,
    `Sec-WebSocket-Protocol: ${protocols.join(', ')}`, `Origin: ${origin}`, '', '',
  ].join('\r\n'));
  const [first] = await once(socket, 'data') as [Buffer];
  assert.match(first.toString(), /^HTTP\/1\.1 101/);
  socket.pause();
  return socket;
}
