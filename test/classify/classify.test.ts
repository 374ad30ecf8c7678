import assert from 'node:assert/strict';
import { classify, classifyAll, describeRules } from '../../src/classify/classify.ts';
import { compileRegex, MAX_MATCH_TEXT } from '../../src/classify/compile.ts';
import { parseRules } from '../../src/classify/load.ts';
import type { Signal } from '../../src/domain/types.ts';
import { alertSignal, eventSignal, signal } from './signals.ts';

const rules = parseRules(`rules:
  - name: prod-backoff-events
    match:
      sources: [event]
      reasons: [BackOff]
      namespaces: [prod]
      labels: {team: "~^(web|api)$"}
      pattern: "restarting failed container"
    priority: P1
    remediation: {action: restart-pod, cooldown: 2m}
  - name: not-batch
    match:
      labels: {tier: "!batch"}
      keywords: [fatal]
    priority: P2
  - name: disabled
    match: {pattern: "."}
    priority: P1
    enabled: false
  - name: alerts-outside-system
    match:
      sources: [alert]
      namespaces: ["!kube-system", "!kube-public"]
      pattern: "(?i)disk (is )?full"
    priority: P3
`, 'table.yaml');

describe('classify: decision table', () => {
  const backoff = 'Back-off restarting failed container app in pod web-1';
  const cases: Array<{ name: string; signal: Signal; rule: string | null; priority: string; tried: string[] }> = [
    {
      name: 'every matcher passes',
      signal: eventSignal('BackOff', backoff, { namespace: 'prod', labels: { team: 'web' } }),
      rule: 'prod-backoff-events', priority: 'P1', tried: [],
    },
    {
      name: 'wrong source fails on sources first, even though the text matches',
      signal: signal({ source: 'alert', namespace: 'prod', labels: { team: 'web' }, message: backoff }),
      rule: null, priority: 'P4', tried: ['prod-backoff-events:sources', 'not-batch:keywords', 'alerts-outside-system:pattern'],
    },
    {
      name: 'event reason must match exactly',
      signal: eventSignal('Backoff', backoff, { namespace: 'prod', labels: { team: 'web' } }),
      rule: null, priority: 'P4', tried: ['prod-backoff-events:reasons', 'not-batch:keywords', 'alerts-outside-system:sources'],
    },
    {
      name: 'namespace not listed',
      signal: eventSignal('BackOff', backoff, { namespace: 'dev', labels: { team: 'web' } }),
      rule: null, priority: 'P4', tried: ['prod-backoff-events:namespaces', 'not-batch:keywords', 'alerts-outside-system:sources'],
    },
    {
      name: 'label regex fails, reported by label name',
      signal: eventSignal('BackOff', backoff, { namespace: 'prod', labels: { team: 'webapp' } }),
      rule: null, priority: 'P4', tried: ['prod-backoff-events:labels.team', 'not-batch:keywords', 'alerts-outside-system:sources'],
    },
    {
      name: 'pattern is checked last',
      signal: eventSignal('BackOff', 'Back-off pulling image "nginx:nope"', { namespace: 'prod', labels: { team: 'api' } }),
      rule: null, priority: 'P4', tried: ['prod-backoff-events:pattern', 'not-batch:keywords', 'alerts-outside-system:sources'],
    },
    {
      name: 'negated label blocks its value only',
      signal: signal({ labels: { tier: 'batch' }, message: 'FATAL: db gone' }),
      rule: null, priority: 'P4', tried: ['prod-backoff-events:sources', 'not-batch:labels.tier', 'alerts-outside-system:pattern'],
    },
    {
      name: 'negated label passes on other values',
      signal: signal({ labels: { tier: 'web' }, message: 'FATAL: db gone' }),
      rule: 'not-batch', priority: 'P2', tried: ['prod-backoff-events:sources'],
    },
    {
      name: 'all-negated namespaces pass an unlisted namespace',
      signal: alertSignal({ alertname: 'NodeDisk', namespace: 'shop' }, { summary: 'Disk is FULL on node-3' }),
      rule: 'alerts-outside-system', priority: 'P3', tried: ['prod-backoff-events:sources', 'not-batch:keywords'],
    },
    {
      name: 'all-negated namespaces block a listed one',
      signal: alertSignal({ alertname: 'NodeDisk', namespace: 'kube-public' }, { summary: 'disk full' }),
      rule: null, priority: 'P4', tried: ['prod-backoff-events:sources', 'not-batch:keywords', 'alerts-outside-system:namespaces'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = classify(c.signal, rules);
      assert.equal(got.rule, c.rule);
      assert.equal(got.priority, c.priority);
      assert.equal(got.reason.matched, c.rule);
      assert.deepEqual(got.reason.tried.map((t) => `${t.rule}:${t.failed}`), c.tried);
    });
  }
});

describe('classify: behaviour', () => {
  it('returns the rule’s remediation for a match and none for no match', () => {
    const hit = classify(eventSignal('BackOff', 'Back-off restarting failed container', { namespace: 'prod', labels: { team: 'api' } }), rules);
    assert.deepEqual(hit.remediation, { action: 'restart-pod', params: {}, cooldownMs: 120_000 });
    assert.ok(Object.isFrozen(hit.remediation), 'shared across classifications, so it must be immutable');
    const miss = classify(signal({ message: 'all good' }), rules);
    assert.equal(miss.remediation, null);
  });

  it('never reads label matchers from the prototype chain of hostile label objects', () => {
    const set = parseRules(`rules:
  - {name: proto, match: {labels: {constructor: "~.", toString: "!x"}}, priority: P1}
`, 'proto.yaml');
    assert.equal(classify(signal({ labels: {} }), set).rule, null, 'constructor is not an own label');
    const hostile = JSON.parse('{"__proto__": {"constructor": "x"}, "constructor": "yes"}') as Record<string, string>;
    assert.equal(classify(signal({ labels: hostile }), set).rule, 'proto');
  });

  it('stays linear on a regex bomb: (a+)+$ against 50k a’s and a mismatch', () => {
    const bomb = compileRegex('(a+)+$');
    assert.ok(typeof bomb !== 'string');
    const evil = `${'a'.repeat(50_000)}!`;
    let started = performance.now();
    assert.equal(bomb.test(evil), false);
    assert.ok(performance.now() - started < 1000, 'the compiled regex itself is linear');

    // Through classify(), where the text is also capped: keep the mismatch inside the cap.
    const set = parseRules('rules:\n  - {name: bomb, match: {pattern: "(a+)+$"}, priority: P1}\n  - {name: label-bomb, match: {labels: {x: "~^(a|aa)+$"}}, priority: P2}\n', 'bomb.yaml');
    const capped = `${'a'.repeat(MAX_MATCH_TEXT - 1)}!`;
    started = performance.now();
    const c = classify(signal({ message: capped, labels: { x: capped } }), set);
    const elapsed = performance.now() - started;
    assert.equal(c.rule, null);
    assert.ok(elapsed < 1000, `took ${elapsed.toFixed(0)} ms`);
  });

  it('matches only the first 16 KiB of a message', () => {
    const set = parseRules('rules:\n  - {name: tail, match: {keywords: [haystack]}, priority: P1}\n  - {name: tail-re, match: {pattern: needle2}, priority: P1}\n', 'cap.yaml');
    const pad = 'x'.repeat(MAX_MATCH_TEXT);
    assert.equal(classify(signal({ message: `${pad}haystack needle2` }), set).rule, null);
    assert.equal(classify(signal({ message: `needle2 ${pad}` }), set).rule, 'tail-re');
  });

  it('classifies arbitrary text without throwing (control characters, lone surrogates, huge labels)', () => {
    const weird = ['', '\u0000\uD800\uDFFF\uD83D', '\n'.repeat(10), 'ñ'.repeat(70_000)];
    for (const message of weird) {
      const c = classify(signal({ message, labels: { tier: message, team: message } }), rules);
      assert.ok(['P1', 'P2', 'P3', 'P4'].includes(c.priority));
    }
  });

  it('classifyAll keeps input order', () => {
    const out = classifyAll([signal({ message: 'fatal' }), signal({ message: 'ok' })], rules);
    assert.deepEqual(out.map((c) => c.rule), ['not-batch', null]);
  });

  it('describeRules lists every rule in file order, as written, JSON-ready', () => {
    const summary = describeRules(rules);
    assert.deepEqual(summary.map((r) => [r.index, r.name, r.enabled]), [
      [0, 'prod-backoff-events', true], [1, 'not-batch', true], [2, 'disabled', false], [3, 'alerts-outside-system', true],
    ]);
    assert.deepEqual(summary[0], {
      index: 0,
      name: 'prod-backoff-events',
      priority: 'P1',
      enabled: true,
      action: 'restart-pod',
      params: {},
      cooldown: '2m',
      match: {
        pattern: 'restarting failed container',
        labels: { team: '~^(web|api)$' },
        namespaces: ['prod'],
        sources: ['event'],
        reasons: ['BackOff'],
      },
    });
    assert.equal(summary[1].action, 'none');
    assert.equal(summary[1].cooldown, null);
    assert.deepEqual(JSON.parse(JSON.stringify(summary)), summary);
    summary[0].match.namespaces?.push('mutated');
    assert.deepEqual(describeRules(rules)[0].match.namespaces, ['prod'], 'summaries are copies');
  });
});
