// Certificate rotation without a restart: files replaced the way the kubelet updates a Secret volume
// (a `..data` symlink swapped atomically), under a live keep-alive connection.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { listen, type ListeningServer } from '../../src/http/server.ts';
import { ensureCertificates } from '../../src/tls/certs.ts';
import { loadTlsPair, type TlsPair } from '../../src/tls/material.ts';
import { TlsReloader, type TlsReloadResult } from '../../src/tls/reloader.ts';
import { handshake } from './handshake.ts';
import { SecretVolume } from './secret-volume.ts';

interface Pki { ca: string; cert: string; key: string; serial: string }

async function makePki(name: string): Promise<Pki> {
  const dir = mkdtempSync(join(tmpdir(), `ks-rot-${name}-`));
  const f = await ensureCertificates(dir, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const pair = await loadTlsPair(f);
  return { ca: readFileSync(f.caFile, 'utf8'), cert: readFileSync(f.certFile, 'utf8'), key: readFileSync(f.keyFile, 'utf8'), serial: pair.serial };
}

function get(agent: Agent, port: number): Promise<{ status: number; serial: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent, servername: 'localhost' }, (res) => {
      const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, serial, reused: req.reusedSocket }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function until<T>(what: string, probe: () => T | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('TLS certificate rotation', () => {
  let a: Pki;
  let b: Pki;
  let volume: SecretVolume;
  let server: ListeningServer;
  let reloader: TlsReloader;
  const results: TlsReloadResult[] = [];
  before(async () => {
    [a, b] = await Promise.all([makePki('a'), makePki('b')]);
    volume = new SecretVolume(a.cert, a.key);
    const initial: TlsPair = await loadTlsPair(volume.files);
    server = await listen({ handler: (_req, res) => res.end('ok'), tls: volume.files, pair: initial, listen: '127.0.0.1:0' });
    reloader = new TlsReloader({ files: volume.files, initial, apply: (p) => server.useTls(p), onReload: (r) => results.push(r), debounceMs: 50, pollMs: 0 });
    reloader.start();
  });
  after(async () => { await reloader.stop(); await server.close(100); });

  it('serves a rotated certificate on new connections while a live connection keeps working', async () => {
    const live = new Agent({ keepAlive: true, maxSockets: 1, ca: a.ca });
    try {
      const first = await get(live, server.port);
      assert.equal(first.serial, a.serial);

      volume.update(b.cert, b.key);
      const swapped = await until('the reload', () => results.find((r) => r.ok && r.changed));
      assert.equal(swapped.trigger, 'watch');
      assert.equal(swapped.pair.serial, b.serial);

      const fresh = new Agent({ ca: b.ca });
      assert.equal((await get(fresh, server.port)).serial, b.serial, 'new connections get the new certificate');
      fresh.destroy();
      await assert.rejects(get(new Agent({ ca: a.ca }), server.port), /self[- ]signed|unable to verify|certificate/i,
        'clients that only trust the old CA no longer connect');

      const again = await get(live, server.port);
      assert.equal(again.status, 200);
      assert.equal(again.reused, true, 'the live connection was not cut');
      assert.equal(again.serial, a.serial, 'an established session keeps its certificate');
    } finally {
      live.destroy();
    }
  });

  it('keeps the pair in service when the new files do not match, and reports the failure', async () => {
    const before = results.length;
    volume.update(a.cert, b.key); // a certificate with someone else's key
    const failed = await until('the failed reload', () => results.slice(before).find((r) => !r.ok));
    assert.match((failed as { error: string }).error, /does not match|not usable/);
    assert.equal((await get(new Agent({ ca: b.ca }), server.port)).serial, b.serial);
  });

  it('reloads on demand (SIGHUP) and keeps the AEAD-only policy in the new context', async () => {
    volume.update(a.cert, a.key);
    const r = await reloader.reload('sighup');
    assert.ok(r.ok);
    assert.equal(reloader.current.serial, a.serial);
    const cbc = await handshake(server.port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256@SECLEVEL=0' });
    assert.equal(cbc.ok, false, 'a rotation must not bring CBC suites back');
  });
});
