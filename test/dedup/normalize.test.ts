import assert from 'node:assert/strict';
import { MAX_NORMALIZED_INPUT, normalizeMessage } from '../../src/dedup/normalize.ts';

const TABLE: Array<[string, string, string]> = [
  // [what, input, expected]
  ['RFC 3339 with nanoseconds', 'failed at 2026-11-21T22:27:44.426123456Z', 'failed at <ts>'],
  ['RFC 3339 with offset', 'at 2026-11-21T22:27:44+05:30 boom', 'at <ts> boom'],
  ['Go log date and time', '2026/11/21 22:27:44 panic: nil map', '<ts> panic: nil map'],
  ['bare date', 'backup of 2026-11-21 failed', 'backup of <ts> failed'],
  ['klog header', 'E1121 22:27:44.426123       1 main.go:10] boom', '<ts>       1 main.go:10] boom'],
  ['syslog', 'Nov 21 22:27:44 node sshd: denied', '<ts> node sshd: denied'],
  ['common log format', '[21/Nov/2026:22:27:44 +0000] "GET /"', '[<ts>] "GET /"'],
  ['time of day alone', 'retry at 22:27:44.5', 'retry at <ts>'],
  ['UUID lower case', 'trace 550e8400-e29b-41d4-a716-446655440000 lost', 'trace <uuid> lost'],
  ['UUID upper case', 'trace 550E8400-E29B-41D4-A716-446655440000 lost', 'trace <uuid> lost'],
  ['IPv4 with port', 'dial tcp 10.1.2.3:5432: connection refused', 'dial tcp <ip>: connection refused'],
  ['IPv4 without port', 'from 192.168.0.1 denied', 'from <ip> denied'],
  ['not an IPv4 (octet > 255)', 'version 999.1.1.1', 'version 999.1.1.1'],
  ['IPv6 bracketed with port', 'dial tcp [2001:db8::1]:8080: refused', 'dial tcp <ip>: refused'],
  ['IPv6 loopback', 'listen on ::1 failed', 'listen on <ip> failed'],
  ['IPv6 link-local with zone', 'neighbour fe80::1%eth0 gone', 'neighbour <ip> gone'],
  ['IPv6 full form', 'peer 2001:0db8:0000:0000:0000:ff00:0042:8329 reset', 'peer <ip> reset'],
  ['IPv6 mapped IPv4', 'client ::ffff:10.0.0.1 closed', 'client <ip> closed'],
  ['IPv6 followed by a colon', 'dial fe80::1: refused', 'dial <ip>: refused'],
  ['code with :: is not IPv6', 'std::vector Foo::Bar a::b::c bad::thing', 'std::vector Foo::Bar a::b::c bad::thing'],
  ['container id (64 hex)', 'containerd://3f2a9c0d1e2b3f4a5b6c7d8e9f00112233445566778899aabbccddeeff0011 died', 'containerd://<hex> died'],
  ['0x pointer', 'segfault at 0x7ffd5e8c', 'segfault at <hex>'],
  ['hex run of letters only is a word', 'facefacefaceface', 'facefacefaceface'],
  ['short hex (pod-template-hash length) kept', 'rs 7d9f8b6c5 scaled', 'rs 7d9f8b6c5 scaled'],
  ['6+ digit number', 'request 1234567 failed', 'request <num> failed'],
  ['epoch milliseconds', 'at 1795300064426', 'at <num>'],
  ['digits inside a word', 'req1234567', 'req<num>'],
  ['short numbers kept', 'exit code 137 after 3 retries on port 8080 (HTTP 503)', 'exit code 137 after 3 retries on port 8080 (HTTP 503)'],
  ['five digits kept', 'limit 65535 reached', 'limit 65535 reached'],
];

describe('dedup/normalize', () => {
  for (const [what, input, expected] of TABLE) {
    it(what, () => {
      assert.equal(normalizeMessage(input), expected);
    });
  }

  describe('the pod name', () => {
    const pod = 'demo-7d9f8b6c5-x2k4q';
    it('is replaced where it stands alone, in kubelet\'s name_namespace form and in DNS names', () => {
      assert.equal(
        normalizeMessage(`pod ${pod} failed; pod=${pod}_default; ${pod}.demo.svc`, pod),
        'pod <pod> failed; pod=<pod>_default; <pod>.demo.svc',
      );
    });
    it('is not replaced inside a longer name', () => {
      assert.equal(normalizeMessage('web-1 web-10 xweb-1 web-1-x', 'web-1'), '<pod> web-10 xweb-1 web-1-x');
    });
    it('makes sibling pods of one workload normalise identically', () => {
      const a = 'Back-off restarting failed container app in pod web-7d9f8b6c5-x2k4q_shop(5f2e0c3a-1b2c-4d5e-8f90-123456789abc)';
      const b = 'Back-off restarting failed container app in pod web-7d9f8b6c5-bq7zn_shop(0a1b2c3d-1b2c-4d5e-8f90-abcdefabcdef)';
      assert.equal(normalizeMessage(a, 'web-7d9f8b6c5-x2k4q'), normalizeMessage(b, 'web-7d9f8b6c5-bq7zn'));
    });
    it('ignores an empty or one-character pod name', () => {
      assert.equal(normalizeMessage('a b', 'a'), 'a b');
      assert.equal(normalizeMessage('a b', ''), 'a b');
    });
  });

  it(`looks at the first ${MAX_NORMALIZED_INPUT} characters only, without splitting a surrogate pair`, () => {
    const long = `${'x'.repeat(MAX_NORMALIZED_INPUT - 1)}🔥tail`;
    const out = normalizeMessage(long);
    assert.equal(out, 'x'.repeat(MAX_NORMALIZED_INPUT - 1));
  });

  it('stays fast on adversarial input (no catastrophic backtracking)', () => {
    const evil = [
      'a'.repeat(5000),
      `${'1'.repeat(5000)}x`,
      '1:'.repeat(3000),
      'a:'.repeat(2500),
      `${'f'.repeat(4095)}g`,
      ':'.repeat(5000),
      `[${'::'.repeat(2500)}`,
      '1.'.repeat(2500),
      `${'0'.repeat(11)}g `.repeat(400),
      '2026-11-21T'.repeat(400),
    ];
    for (const text of evil) {
      const started = performance.now();
      for (let i = 0; i < 20; i++) normalizeMessage(text, 'aaaa');
      const perCall = (performance.now() - started) / 20;
      // Linear work over 4 KiB is well under a millisecond; quadratic blow-up would be 100x that.
      assert.ok(perCall < 20, `${JSON.stringify(text.slice(0, 20))}… took ${perCall.toFixed(1)} ms`);
    }
  });
});
