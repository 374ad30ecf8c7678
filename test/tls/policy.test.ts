// What a client can negotiate: TLS 1.2 with AEAD suites or TLS 1.3, nothing older, no CBC.
import assert from 'node:assert/strict';
import { listen, type ListeningServer } from '../../src/http/server.ts';
import { TLS12_AEAD_CIPHERS } from '../../src/tls/material.ts';
import { testPki } from '../support/pki.ts';
import { handshake } from './handshake.ts';

// Legacy suites a TLS 1.2 client may offer; OpenSSL names (CBC with SHA-1/SHA-2, and plain RSA kx).
const CBC_SUITES = [
  'ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA', 'ECDHE-RSA-AES128-SHA256', 'ECDHE-RSA-AES256-SHA384',
  'ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-ECDSA-AES256-SHA384',
  'AES128-SHA', 'AES256-SHA', 'AES128-SHA256', 'AES256-SHA256', 'AES128-GCM-SHA256',
];
// Old protocol versions need OpenSSL's security level 0 on the client side to be offered at all.
const LEGACY = 'DEFAULT@SECLEVEL=0';

describe('TLS policy', () => {
  let server: ListeningServer;
  before(async () => {
    const pki = await testPki();
    server = await listen({ handler: (_req, res) => res.end('ok'), tls: { certFile: pki.certFile, keyFile: pki.keyFile }, listen: '127.0.0.1:0' });
  });
  after(() => server.close(100));

  for (const version of ['TLSv1', 'TLSv1.1'] as const) {
    it(`refuses ${version} with a protocol_version alert`, async () => {
      const r = await handshake(server.port, { minVersion: version, maxVersion: version, ciphers: LEGACY });
      assert.equal(r.ok, false);
      // The server's alert, not a client that could not offer the version.
      assert.match((r as { code: string }).code, /ALERT_PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL/, JSON.stringify(r));
    });
  }

  it('refuses every CBC (and non-forward-secret) TLS 1.2 suite, one at a time', async () => {
    for (const suite of CBC_SUITES) {
      const r = await handshake(server.port, { maxVersion: 'TLSv1.2', ciphers: `${suite}@SECLEVEL=0` });
      assert.equal(r.ok, false, `${suite} was accepted: ${JSON.stringify(r)}`);
      assert.match((r as { code: string }).code, /HANDSHAKE_FAILURE|NO_SHARED_CIPHER|NO_CIPHERS/, `${suite}: ${JSON.stringify(r)}`);
    }
  });

  it('offers only AEAD suites on TLS 1.2: a client offering everything gets one of them', async () => {
    const r = await handshake(server.port, { maxVersion: 'TLSv1.2', ciphers: 'ALL@SECLEVEL=0' });
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.protocol, 'TLSv1.2');
    assert.ok(TLS12_AEAD_CIPHERS.includes(r.cipher), r.cipher);
    assert.match(r.cipher, /GCM|CHACHA20-POLY1305/);
  });

  it('accepts TLS 1.3 and a TLS 1.2 AEAD client', async () => {
    const modern = await handshake(server.port, {});
    assert.ok(modern.ok && modern.protocol === 'TLSv1.3', JSON.stringify(modern));
    const gcm = await handshake(server.port, { maxVersion: 'TLSv1.2', ciphers: TLS12_AEAD_CIPHERS.join(':') });
    assert.ok(gcm.ok && gcm.protocol === 'TLSv1.2', JSON.stringify(gcm));
  });
});
