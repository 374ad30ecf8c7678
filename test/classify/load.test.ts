import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_PATTERN_LENGTH } from '../../src/classify/compile.ts';
import { defaultRulesPath } from '../../src/classify/defaults.ts';
import { loadRulesFile, parseRules, rulesFromObject } from '../../src/classify/load.ts';
import { LoadError } from '../../src/domain/errors.ts';

function loadError(text: string): LoadError {
  try {
    parseRules(text, 'rules.yaml');
  } catch (err) {
    assert.ok(err instanceof LoadError, `expected LoadError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the rules to be rejected');
}

const paths = (err: LoadError) => err.details.map((d) => d.path);

describe('classify: loading rules', () => {
  it('names rule (index and name), field and line for an invalid regex', () => {
    const err = loadError(`rules:
  - name: ok
    match: {pattern: "fine"}
    priority: P1
  - name: tls-error
    match:
      pattern: "x509: (certificate"
    priority: P2
`);
    assert.equal(err.file, 'rules.yaml');
    assert.deepEqual(paths(err), ['rules[1] (tls-error).match.pattern']);
    assert.match(err.details[0].message, /^invalid regex: missing closing \).*\(line 7\)$/);
    assert.match(err.message, /^rules\.yaml: rules\[1\] \(tls-error\)\.match\.pattern: invalid regex/);
  });

  it('reports every bad regex, including ~label regexes, and rejects non-RE2 syntax such as lookbehind', () => {
    const err = loadError(`rules:
  - name: a
    match: {pattern: "(?<=x)y"}
    priority: P1
  - name: b
    match: {labels: {app: "~web-(", env: prod}}
    priority: P1
`);
    assert.deepEqual(paths(err), ['rules[0] (a).match.pattern', 'rules[1] (b).match.labels.app']);
  });

  it('bounds pattern length so a rule cannot smuggle in a huge program', () => {
    const err = loadError(`rules:\n  - name: big\n    match: {pattern: "${'a'.repeat(MAX_PATTERN_LENGTH + 1)}"}\n    priority: P1\n`);
    assert.match(err.details[0].message, /longer than 4096/);
  });

  it('rejects duplicate names, naming both positions', () => {
    const err = loadError(`rules:
  - {name: dup, match: {pattern: a}, priority: P1}
  - {name: other, match: {pattern: b}, priority: P1}
  - {name: dup, match: {pattern: c}, priority: P2}
`);
    assert.deepEqual(paths(err), ['rules[2] (dup).name']);
    assert.match(err.details[0].message, /duplicate rule name "dup" \(already used by rules\[0\]\)/);
  });

  it('rejects unknown keys by name and line, anywhere in a rule', () => {
    const err = loadError(`rules:
  - name: a
    match:
      pattern: x
      regex: y
    priority: P1
    severity: high
`);
    assert.deepEqual(err.details, [
      { path: 'rules[0] (a).match.regex', message: 'unknown key "regex" (line 5)' },
      { path: 'rules[0] (a).severity', message: 'unknown key "severity" (line 7)' },
    ]);
  });

  it('requires at least one matcher, a known priority and a supported action', () => {
    const err = loadError(`rules:
  - {name: empty, match: {pattern: "", keywords: []}, priority: P1}
  - {name: nomatch, priority: P1}
  - {name: badprio, match: {pattern: x}, priority: urgent}
  - {name: script, match: {pattern: x}, priority: P1, remediation: {action: exec-script}}
  - {name: argo, match: {pattern: x}, priority: P1, remediation: {action: trigger-argo-workflow}}
  - {name: typo, match: {pattern: x}, priority: P1, remediation: {action: restart}}
  - {name: dur, match: {pattern: x}, priority: P1, remediation: {action: none, cooldown: 5 minutes}}
  - {name: src, match: {sources: [log]}, priority: P1}
`);
    const byPath = Object.fromEntries(err.details.map((d) => [d.path, d.message]));
    assert.match(byPath['rules[0] (empty).match'], /at least one matcher/);
    assert.match(byPath['rules[1] (nomatch).match'], /at least one matcher/);
    assert.match(byPath['rules[2] (badprio).priority'], /unknown priority "urgent"/);
    assert.match(byPath['rules[3] (script).remediation.action'], /"exec-script" from the original Kube Sentinel is not supported/);
    assert.match(byPath['rules[4] (argo).remediation.action'], /"trigger-argo-workflow" .* not supported/);
    assert.match(byPath['rules[5] (typo).remediation.action'], /unknown action "restart"/);
    assert.match(byPath['rules[6] (dur).remediation.cooldown'], /not a duration: "5 minutes"/);
    assert.match(byPath['rules[7] (src).match.sources[0]'], /alert, event/);
  });

  it('reports YAML syntax errors with line and column, and an empty file as such', () => {
    const syntax = loadError('rules:\n  - name: a\n    match: {pattern: "x"\n');
    assert.match(syntax.details[0].message, /^YAML syntax error at line \d+, column \d+/);
    assert.match(loadError('# nothing here\n').details[0].message, /file is empty/);
    assert.match(loadError('- name: a\n').details[0].message, /mapping with a `rules:` list/);
    assert.match(loadError('rules:\n  a: 1\n').details[0].message, /list of rules/);
  });

  it('accepts an explicitly empty rule list (everything becomes P4)', () => {
    assert.equal(parseRules('rules: []\n', 'r').rules.length, 0);
  });

  it('coerces numeric and boolean params and label values to strings', () => {
    const set = parseRules(`rules:
  - name: a
    match: {labels: {code: 500, canary: true}}
    priority: P2
    remediation: {action: scale-down, params: {replicas: -1, min_replicas: 2}}
`, 'r');
    assert.deepEqual(set.rules[0].spec.match.labels, { code: '500', canary: 'true' });
    assert.deepEqual(set.rules[0].remediation?.params, { replicas: '-1', min_replicas: '2' });
  });

  it('gives identical text the same hash and version, and different text a different one', () => {
    const text = 'rules:\n  - {name: a, match: {pattern: x}, priority: P1}\n';
    const a = parseRules(text, 'a', { now: () => 1 });
    const b = parseRules(text, 'b', { now: () => 2 });
    assert.equal(a.hash, b.hash);
    assert.equal(a.version, a.hash.slice(0, 12));
    assert.notEqual(parseRules(`${text}# edited\n`, 'a').hash, a.hash);
  });

  it('compiles a parsed JSON body the same way', () => {
    const set = rulesFromObject({ rules: [{ name: 'j', match: { reasons: ['BackOff'] }, priority: 'HIGH', remediation: { action: 'scale-up', params: { replicas: 1 } } }] }, 'request');
    assert.equal(set.rules[0].priority, 'P2');
    assert.throws(() => rulesFromObject({ rules: [{ name: 'j', match: {}, priority: 'P1' }] }, 'request'), LoadError);
  });

  it('loadRulesFile reads from disk and turns a missing file into a LoadError', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-rules-'));
    const file = join(dir, 'rules.yaml');
    writeFileSync(file, 'rules:\n  - {name: a, match: {pattern: x}, priority: P1}\n');
    assert.equal((await loadRulesFile(file)).source, file);
    await assert.rejects(loadRulesFile(join(dir, 'missing.yaml')), (err: unknown) => err instanceof LoadError && /ENOENT/.test(err.message));
  });
  describe('action params (each action\'s own schema, checked at load)', () => {
    const rule = (remediation: string) => `rules:\n  - name: ok\n    match: {pattern: x}\n    priority: P1\n  - name: scaler\n    match: {pattern: y}\n    priority: P2\n    remediation: ${remediation}\n`;
    const details = (remediation: string) => loadError(rule(remediation)).details;

    it('rejects an unknown param, naming the rule, the param and what the action takes', () => {
      assert.deepEqual(details('{action: scale-up, params: {replica: "+1"}}'), [
        { path: 'rules[1] (scaler).remediation.params.replica', message: 'unknown param "replica" (scale-up takes replicas, min_replicas, max_replicas) (line 8)' },
      ]);
      assert.match(details('{action: webhook, params: {receiver: fixer, url: "http://x"}}')[0].message, /unknown param "url" \(webhook takes receiver\)/);
    });

    it('ignores params of actions that take none (DESIGN §4\'s reference rule gives restart-pod scale params)', () => {
      for (const r of ['{action: restart-pod, params: {replicas: "+1", max_replicas: "10"}, cooldown: 5m}', '{action: none, params: {replicas: 2}}', '{action: rollback, params: {revision: 3}}']) {
        const set = parseRules(rule(r), 'rules.yaml');
        assert.equal(set.rules.length, 2, r);
        assert.match(r, new RegExp(`action: ${set.rules[1].remediation?.action ?? 'none'}`), r);
      }
    });

    it('rejects a value of the wrong kind', () => {
      const byPath = (r: string) => Object.fromEntries(details(r).map((d) => [d.path, d.message]));
      assert.match(byPath('{action: scale-up, params: {replicas: lots}}')['rules[1] (scaler).remediation.params.replicas'], /^replicas must be "\+N", "-N" or "N" \(N up to 999999\), got "lots" \(line 8\)$/);
      assert.match(byPath('{action: scale-down, params: {min_replicas: one}}')['rules[1] (scaler).remediation.params.min_replicas'], /min_replicas must be a non-negative integer/);
      assert.match(byPath('{action: scale-up, params: {replicas: [1, 2]}}')['rules[1] (scaler).remediation.params.replicas'], /must be a single value/);
      assert.match(byPath('{action: delete-stuck-pods, params: {threshold: soon}}')['rules[1] (scaler).remediation.params.threshold'], /threshold must be a duration like 5m, got "soon"/);
      assert.match(byPath('{action: webhook, params: {receiver: ""}}')['rules[1] (scaler).remediation.params.receiver'], /needs params\.receiver/);
    });

    it('rejects out-of-range values', () => {
      assert.deepEqual(details('{action: scale-up, params: {min_replicas: 5, max_replicas: 2}}').map((d) => [d.path, d.message]), [
        ['rules[1] (scaler).remediation.params.min_replicas', 'min_replicas (5) is greater than max_replicas (2) (line 8)'],
      ]);
      assert.match(details('{action: scale-up, params: {max_replicas: 1000000}}')[0].message, /max_replicas must be a non-negative integer up to 999999, got "1000000"/);
      assert.match(details('{action: scale-down, params: {min_replicas: -1}}')[0].message, /min_replicas must be a non-negative integer/);
      assert.match(details('{action: scale-up, params: {replicas: "+1000000"}}')[0].message, /replicas must be/);
    });

    it('lists every bad param of every rule in one load', () => {
      const err = loadError(`rules:
  - {name: a, match: {pattern: x}, priority: P1, remediation: {action: scale-up, params: {replicas: lots, max: 3}}}
  - {name: b, match: {pattern: x}, priority: P1, remediation: {action: delete-stuck-pods, params: {threshold: soon}}}
`);
      assert.deepEqual(paths(err).sort(), ['rules[0] (a).remediation.params.max', 'rules[0] (a).remediation.params.replicas', 'rules[1] (b).remediation.params.threshold']);
    });

    it('accepts valid params, and keeps them as written for the action to read', () => {
      const set = parseRules(`rules:
  - {name: up, match: {pattern: x}, priority: P1, remediation: {action: scale-up, params: {replicas: +2, min_replicas: 1, max_replicas: 10}}}
  - {name: down, match: {pattern: x}, priority: P1, remediation: {action: scale-down, params: {replicas: 3, min_replicas: 2}}}
  - {name: stuck, match: {pattern: x}, priority: P1, remediation: {action: delete-stuck-pods, params: {threshold: 90s}}}
  - {name: hook, match: {pattern: x}, priority: P1, remediation: {action: webhook, params: {receiver: fixer}}}
  - {name: restart, match: {pattern: x}, priority: P1, remediation: {action: restart-pod, params: {}}}
  - {name: back, match: {pattern: x}, priority: P1, remediation: {action: rollback}}
`, 'rules.yaml');
      assert.deepEqual(set.rules.map((r) => r.remediation?.params), [
        { replicas: '+2', min_replicas: '1', max_replicas: '10' }, { replicas: '3', min_replicas: '2' }, { threshold: '90s' }, { receiver: 'fixer' }, {}, {},
      ]);
    });

    it('still loads the shipped default rules and the original-format fixture', async () => {
      assert.ok((await loadRulesFile(defaultRulesPath())).rules.length > 0);
      assert.ok((await loadRulesFile(new URL('./fixtures/original-rules.yaml', import.meta.url).pathname)).rules.length > 0);
    });
  });
});
