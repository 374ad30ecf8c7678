import assert from 'node:assert/strict';
import { labelsFingerprint } from '../../src/dedup/labels-fingerprint.ts';

// Decimal values are the uint64 results from prometheus/common model/signature_test.go (LabelSet
// fingerprint tests and benchmarks); the others are Alertmanager-reported fingerprints.
const hex = (decimal: string) => BigInt(decimal).toString(16).padStart(16, '0');

const GOLDEN: Array<[string, Record<string, string>, string]> = [
  ['empty set is the FNV-64 offset basis', {}, 'cbf29ce484222325'],
  ['prometheus/common signature_test', { name: 'garland, briggs', fear: 'love is not enough' }, hex('5799056148416392346')],
  ['benchmark single', { 'first-label': 'first-label-value' }, hex('5146282821936882169')],
  [
    'benchmark double',
    { 'first-label': 'first-label-value', 'second-label': 'second-label-value' },
    hex('3195800080984914717'),
  ],
  [
    'benchmark triple',
    { 'first-label': 'first-label-value', 'second-label': 'second-label-value', 'third-label': 'third-label-value' },
    hex('13843036195897128121'),
  ],
  ['job/severity', { job: 'foo', severity: 'warning' }, '9266ef3da838ad95'],
  [
    'captured Alertmanager 0.25 alert',
    { alertname: 'KubePodCrashLooping', container: 'app', namespace: 'default', pod: 'demo-7d9f8b6c5-x2k4q', severity: 'critical' },
    'e6d7d72be312c821',
  ],
];

/** Straightforward BigInt FNV-1a over UTF-8 bytes, as an independent reference. */
function reference(labels: Record<string, string>): string {
  const mask = (1n << 64n) - 1n;
  let h = 0xcbf29ce484222325n;
  const feed = (bytes: Iterable<number>) => {
    for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & mask;
  };
  const names = Object.keys(labels).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const name of names) {
    feed(Buffer.from(name, 'utf8'));
    feed([0xff]);
    feed(Buffer.from(labels[name], 'utf8'));
    feed([0xff]);
  }
  return h.toString(16).padStart(16, '0');
}

describe('dedup/labels-fingerprint', () => {
  for (const [name, labels, want] of GOLDEN) {
    it(`matches Prometheus: ${name}`, () => {
      assert.equal(labelsFingerprint(labels), want);
    });
  }

  it('does not depend on key insertion order', () => {
    assert.equal(labelsFingerprint({ severity: 'warning', job: 'foo' }), '9266ef3da838ad95');
  });

  it('hashes UTF-8 bytes, not UTF-16 units (2-, 3- and 4-byte characters)', () => {
    const labels = { alertname: 'Grüße', team: 'データ', icon: '🔥 fire', z: 'ok' };
    assert.equal(labelsFingerprint(labels), reference(labels));
    assert.notEqual(labelsFingerprint({ a: 'é' }), labelsFingerprint({ a: 'e\u0301' }));
  });

  it('encodes a lone surrogate as U+FFFD, as Go decodes it from JSON', () => {
    assert.equal(labelsFingerprint({ a: 'x\ud800y' }), labelsFingerprint({ a: 'x\ufffdy' }));
  });

  it('orders names by code point (Go byte order) even with astral characters', () => {
    // UTF-16 order puts '\u{1F525}' (surrogates D83D…) before '\uFF21'; code-point order does not.
    const labels = { '\u{1F525}': '1', '\uFF21': '2' };
    assert.equal(labelsFingerprint(labels), reference(labels));
  });

  it('separates name and value so boundaries cannot be shifted', () => {
    assert.notEqual(labelsFingerprint({ ab: 'c' }), labelsFingerprint({ a: 'bc' }));
    assert.notEqual(labelsFingerprint({ a: '' }), labelsFingerprint({}));
  });

  it('agrees with the reference on many random label sets', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const alphabet = 'abcXYZ_09-é漢🔥';
    const word = () => Array.from({ length: 1 + Math.floor(rand() * 12) }, () => [...alphabet][Math.floor(rand() * 13)]).join('');
    for (let i = 0; i < 200; i++) {
      const labels: Record<string, string> = {};
      for (let j = Math.floor(rand() * 6); j >= 0; j--) labels[word()] = word();
      assert.equal(labelsFingerprint(labels), reference(labels), JSON.stringify(labels));
    }
  });
});
