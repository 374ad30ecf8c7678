// The built server picks up a rotated certificate without a restart: the Secret volume's `..data`
// swap is noticed, the new pair is served, a metric and a log line record each reload, a mismatched
// pair is refused (the old one stays), and SIGHUP re-reads on demand.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCertificates } from '../../src/tls/certs.ts';
import { loadTlsPair } from '../../src/tls/material.ts';
import { testPki } from '../support/pki.ts';
import { builtServerPresent, requireComponent, waitFor } from '../support/proc.ts';
import { startServer, type ServerProc } from '../support/server-proc.ts';
import { handshake } from '../tls/handshake.ts';
import { SecretVolume } from '../tls/secret-volume.ts';
import { connect, type TLSSocket } from 'node:tls';

const serialOf = (port: number) => new Promise<string>((resolve, reject) => {
  const s: TLSSocket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => { resolve(s.getPeerCertificate().serialNumber); s.end(); });
  s.on('error', reject);
});

const metrics = (port: number, ca: string) => new Promise<string>((resolve, reject) => {
  const req = request({ host: '127.0.0.1', port, path: '/metrics', ca, servername: 'localhost' }, (res) => {
    let text = '';
    res.on('data', (d) => { text += d; });
    res.on('end', () => resolve(text));
  });
  req.on('error', reject);
  req.end();
});

const reloads = (text: string, result: string) => Number(new RegExp(`kube_sentinel_tls_reloads_total\\{result="${result}"\\} (\\d+)`).exec(text)?.[1] ?? 0);

describe('e2e: certificate rotation in the running server', function () {
  this.timeout(60_000);
  let server: ServerProc;
  let volume: SecretVolume;
  let b: { cert: string; key: string; ca: string; serial: string };
  let a: { cert: string; key: string; serial: string };

  before(async function () {
    requireComponent(this, 'the built server (npm run build)', builtServerPresent());
    const pki = await testPki();
    a = { cert: readFileSync(pki.certFile, 'utf8'), key: readFileSync(pki.keyFile, 'utf8'), serial: (await loadTlsPair(pki)).serial };
    const other = await ensureCertificates(mkdtempSync(join(tmpdir(), 'ks-rot-b-')), { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    b = { cert: readFileSync(other.certFile, 'utf8'), key: readFileSync(other.keyFile, 'utf8'), ca: readFileSync(other.caFile, 'utf8'), serial: (await loadTlsPair(other)).serial };
    volume = new SecretVolume(a.cert, a.key);
    server = await startServer({
      env: { LOG_LEVEL: 'info' },
      config: { tls: { cert_file: volume.files.certFile, key_file: volume.files.keyFile, self_signed: false } },
    });
  });
  after(() => server?.stop());

  it('serves the rotated pair, counts and logs the reload', async () => {
    assert.equal(await serialOf(server.port), a.serial);
    volume.update(b.cert, b.key);
    await waitFor('the new certificate', async () => (await serialOf(server.port)) === b.serial, 15_000, 100);
    assert.equal(reloads(await metrics(server.port, b.ca), 'success'), 1);
    assert.match(server.proc.output(), /"msg":"certificate reloaded"/);
    const cbc = await handshake(server.port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256@SECLEVEL=0' });
    assert.equal(cbc.ok, false, 'the rotated context keeps the AEAD-only policy');
  });

  it('keeps serving the pair in service when the new one does not match, and says so', async () => {
    volume.update(b.cert, a.key);
    await waitFor('the failed reload', async () => reloads(await metrics(server.port, b.ca), 'failure') === 1, 15_000, 100);
    assert.equal(await serialOf(server.port), b.serial);
    assert.match(server.proc.output(), /certificate reload failed; keeping the certificate in service/);
  });

  it('re-reads on SIGHUP', async () => {
    volume.update(b.cert, b.key);
    server.proc.child.kill('SIGHUP');
    await waitFor('the SIGHUP reload log', async () => /"trigger":"sighup"[^\n]*"msg":"certificate (unchanged|reloaded)"/.test(server.proc.output()), 15_000, 100);
    assert.equal(await serialOf(server.port), b.serial);
  });
});
