import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { classify, describeRules } from '../../src/classify/classify.ts';
import { parseRules } from '../../src/classify/load.ts';
import { alertSignal, signal } from './signals.ts';

const FIXTURE = new URL('./fixtures/original-rules.yaml', import.meta.url);
const rules = parseRules(readFileSync(FIXTURE, 'utf8'), 'original-rules.yaml', { now: () => 1_700_000_000_000 });

describe('classify: original Kube Sentinel rules.yaml', () => {
  it('loads unchanged, normalising priorities and defaults the way the original did', () => {
    const byName = Object.fromEntries(describeRules(rules).map((r) => [r.name, r]));
    assert.deepEqual(
      Object.values(byName).map((r) => [r.name, r.priority]),
      [
        ['crashloop-backoff', 'P1'], ['oom-killed', 'P1'], ['payments-errors', 'P2'], ['legacy-api', 'P3'],
        ['db-timeouts', 'P3'], ['certificate-expired', 'P2'], ['debug-noise', 'P4'],
      ],
    );
    // Unquoted `+1` and `10` stay the text the operator wrote, as Go decoded them into strings.
    assert.deepEqual(byName['payments-errors'].params, { replicas: '+1', max_replicas: '10' });
    assert.equal(byName['payments-errors'].cooldown, '15m');
    // A remediation without cooldown gets the original's 5m default.
    assert.equal(byName['db-timeouts'].cooldown, '5m');
    // The empty pattern meant "no pattern" in the original.
    assert.equal(byName['payments-errors'].match.pattern, undefined);
    assert.equal(byName['legacy-api'].enabled, false);
    assert.equal(byName['certificate-expired'].enabled, true, 'absent enabled means on');
    assert.equal(rules.loadedAt, 1_700_000_000_000);
    assert.match(rules.hash, /^[0-9a-f]{64}$/);
  });

  it('first match wins, with the rule’s action and cooldown', () => {
    const c = classify(signal({ namespace: 'shop', message: 'pod web in CrashLoopBackOff; out of memory earlier' }), rules);
    assert.equal(c.rule, 'crashloop-backoff');
    assert.equal(c.priority, 'P1');
    assert.deepEqual(c.remediation, { action: 'restart-pod', params: {}, cooldownMs: 300_000 });
    assert.deepEqual(c.reason, { matched: 'crashloop-backoff', tried: [] });
  });

  it('negated namespaces exclude, and the next rule gets its chance', () => {
    const c = classify(signal({ namespace: 'kube-system', message: 'CrashLoopBackOff: OOMKilled' }), rules);
    assert.equal(c.rule, 'oom-killed');
    assert.equal(c.remediation, null, 'action none means nothing to do');
    assert.deepEqual(c.reason.tried, [{ rule: 'crashloop-backoff', failed: 'namespaces' }]);
  });

  it('(?i) makes the pattern case-insensitive; patterns are unanchored', () => {
    assert.equal(classify(signal({ message: 'container app was OOMKILLED' }), rules).rule, 'oom-killed');
    assert.equal(
      classify(signal({ labels: { tier: 'database' }, message: 'query failed: socket timeout after 30s' }), rules).rule,
      'db-timeouts',
    );
    assert.equal(classify(signal({ message: 'tls: x509: Certificate has expired or is not yet valid' }), rules).priority, 'P2');
  });

  it('labels: ~regex must exist and match, !value passes when absent, positives OR across namespaces', () => {
    const base = { namespace: 'billing', message: 'Charge declined by bank' };
    const hit = classify(signal({ ...base, labels: { app: 'payments-worker' } }), rules);
    assert.equal(hit.rule, 'payments-errors');
    assert.deepEqual(hit.remediation, { action: 'scale-up', params: { replicas: '+1', max_replicas: '10' }, cooldownMs: 900_000 });

    const staging = classify(signal({ ...base, labels: { app: 'payments-api', env: 'staging' } }), rules);
    assert.notEqual(staging.rule, 'payments-errors');
    assert.deepEqual(staging.reason.tried.find((t) => t.rule === 'payments-errors'), { rule: 'payments-errors', failed: 'labels.env' });

    const noApp = classify(signal({ ...base, labels: { env: 'prod' } }), rules);
    assert.deepEqual(noApp.reason.tried.find((t) => t.rule === 'payments-errors')?.failed, 'labels.app');

    // The regex is anchored only where the author anchored it.
    const suffixed = classify(signal({ ...base, labels: { app: 'payments-api-v2' } }), rules);
    assert.notEqual(suffixed.rule, 'payments-errors');

    const otherNs = classify(signal({ ...base, namespace: 'shop', labels: { app: 'payments-api' } }), rules);
    assert.deepEqual(otherNs.reason.tried.find((t) => t.rule === 'payments-errors')?.failed, 'namespaces');
  });

  it('skips a disabled rule entirely (it is not even listed as tried)', () => {
    const c = classify(signal({ message: 'client uses deprecated API extensions/v1beta1' }), rules);
    assert.equal(c.rule, null);
    assert.equal(c.priority, 'P4');
    assert.ok(!c.reason.tried.some((t) => t.rule === 'legacy-api'));
    assert.equal(c.reason.tried.length, 6);
  });

  it('keywords match case-insensitively anywhere in the message', () => {
    const c = classify(alertSignal({ alertname: 'LogLines' }, { summary: 'level=debug msg="cache warm"' }), rules);
    assert.equal(c.rule, 'debug-noise');
    assert.equal(c.priority, 'P4');
  });
});
