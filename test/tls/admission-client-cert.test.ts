// With tls.client_ca_file, the admission listener accepts only callers presenting a certificate that
// CA signed (the API server configured through an AdmissionConfiguration kubeconfig).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { listen, type ListeningServer } from '../../src/http/server.ts';
import { generateCa, type Pem } from '../../src/tls/certs.ts';
import { makeApp, type TestApp } from '../support/app.ts';
import { testPki } from '../support/pki.ts';

async function clientCert(ca: Pem, name: string): Promise<Pem> {
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: name }], {
    notBeforeDate: new Date(now - 3_600_000), notAfterDate: new Date(now + 86_400_000),
    keyType: 'ec', curve: 'P-256', algorithm: 'sha256', ca,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

const REVIEW = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'cc-1', operation: 'CREATE', dryRun: true } });

function post(port: number, ca: string, client?: Pem): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/webhooks/admission', method: 'POST', ca, servername: 'localhost',
      headers: { 'content-type': 'application/json' }, ...(client ? { cert: client.cert, key: client.key } : {}) }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(REVIEW);
  });
}

describe('admission listener with a client CA', () => {
  let t: TestApp;
  let server: ListeningServer;
  let ca: string;
  let trusted: Pem;
  let stranger: Pem;
  before(async () => {
    const pki = await testPki();
    ca = pki.ca;
    const clientCa = await generateCa({ commonName: 'apiserver client CA' });
    trusted = await clientCert(clientCa, 'kube-apiserver');
    stranger = await clientCert(await generateCa({ commonName: 'someone else' }), 'kube-apiserver');
    const dir = mkdtempSync(join(tmpdir(), 'ks-clientca-'));
    writeFileSync(join(dir, 'client-ca.crt'), clientCa.cert);
    const tls = { certFile: pki.certFile, keyFile: pki.keyFile, clientCaFile: join(dir, 'client-ca.crt') };
    t = await makeApp({ config: { web: { admission_listen: '127.0.0.1:0' }, tls: { client_ca_file: tls.clientCaFile } } });
    server = await listen({ handler: t.app.admissionHandler!, tls, listen: '127.0.0.1:0' });
  });
  after(async () => { await server.close(100); await t.close(); });

  it('refuses a caller without a client certificate with 401', async () => {
    const r = await post(server.port, ca);
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, 'unauthorized');
  });
  it('refuses a certificate from another CA with 401', async () => {
    assert.equal((await post(server.port, ca, stranger)).status, 401);
  });
  it('admits the API server\'s certificate', async () => {
    const r = await post(server.port, ca, trusted);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.response.uid, 'cc-1');
  });
});
