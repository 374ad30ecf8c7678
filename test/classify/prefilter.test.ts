import assert from 'node:assert/strict';
import { RE2JS } from 're2js';
import { derivePrefilter, mayMatch } from '../../src/classify/prefilter.ts';
import { loadRulesFile } from '../../src/classify/load.ts';
import { defaultRulesPath } from '../../src/classify/defaults.ts';

const lits = (p: string) => derivePrefilter(p)?.literals.map((l) => `${l.ci ? 'i:' : ''}${l.text}`) ?? null;

describe('classify: literal prefilter', () => {
  it('derives one mandatory literal per alternative', () => {
    assert.deepEqual(lits('CrashLoopBackOff|Back-off restarting'), ['CrashLoopBackOff', 'Back-off restarting']);
    assert.deepEqual(lits('(?i)OOMKill(ed|ing)|out of memory'), ['i:oomkill', 'i:out of memory']);
    assert.deepEqual(lits('ErrImagePull|(?i:failed to pull image)'), ['ErrImagePull', 'i:failed to pull image']);
    assert.deepEqual(lits('(?i)(liveness|readiness) probe (failed|errored)'), ['i: probe ']);
    assert.deepEqual(lits('goroutine \\d+ \\[running\\]'), ['goroutine ']);
    assert.deepEqual(lits('colou?r'), ['colo']);
    assert.deepEqual(lits('abc{2}xyz'), ['xyz'], 'a repeat body is not literal text');
    assert.deepEqual(lits('(?i:ABC(?-i:def))'), ['i:abc']);
  });

  it('declines patterns it cannot reason about exactly', () => {
    for (const p of ['a|bcd', 'abc(?i)def', '\\x41BCD', '\\p{Greek}abcd', '\\Qa.b\\E', '.*', '[abc]+', '(abc', 'x(?-i:ABC)', '(?i)straße']) {
      assert.equal(derivePrefilter(p), null, p);
    }
  });

  it('honours RE2 case folding of ſ and K', () => {
    const pre = derivePrefilter('(?i)segfault|kill')!;
    assert.equal(mayMatch(pre, 'ſegfault'), true);
    assert.equal(RE2JS.compile('(?i)segfault|kill').test('ſegfault'), true);
    assert.equal(mayMatch(pre, 'nothing here'), false);
  });

  it('never rejects a text the regex matches (default rules, mutated corpus)', async () => {
    const rules = await loadRulesFile(defaultRulesPath());
    const patterns = rules.rules.map((r) => r.spec.match.pattern).filter((p): p is string => Boolean(p));
    assert.ok(patterns.length >= 8);
    const corpus = [
      'Back-off restarting failed container app', 'container OOMKilled', 'OOMKILLING now', 'Out Of Memory', 'panic: boom',
      'goroutine 17 [running]:', 'Liveness probe failed: HTTP 500', 'READINESS PROBE ERRORED', 'dial tcp: connection refused',
      'i/o timeout', 'context deadline exceeded', 'Failed to pull image "x"', 'node worker-1 is not ready', 'ſegmentation fault',
      'PERMISSION DENIED', 'access is forbidden', 'BackoffLimitExceeded', 'ECONNREFUSED 10.0.0.1:443', 'timed out', 'all good',
    ];
    let derived = 0;
    for (const p of patterns) {
      const pre = derivePrefilter(p);
      if (!pre) continue;
      derived++;
      const re = RE2JS.compile(p);
      for (const base of corpus) {
        for (const text of [base, base.toUpperCase(), base.toLowerCase(), `xx ${base} yy`, base.replace(/s/g, 'ſ')]) {
          if (re.test(text)) assert.ok(mayMatch(pre, text), `${p} matches ${JSON.stringify(text)} but the prefilter rejected it`);
        }
      }
    }
    assert.ok(derived >= patterns.length - 2, `prefilters derived for ${derived} of ${patterns.length} default patterns`);
  });
});
