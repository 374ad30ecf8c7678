import assert from 'node:assert/strict';
import { RE2JS } from 're2js';
import { derivePrefilter, prefilterVerdict } from '../../src/classify/prefilter.ts';
import { loadRulesFile } from '../../src/classify/load.ts';
import { defaultRulesPath } from '../../src/classify/defaults.ts';

const lits = (p: string) => derivePrefilter(p)?.literals.map((l) => `${l.ci ? 'i:' : ''}${l.text}`) ?? null;
const mayMatch = (pre: NonNullable<ReturnType<typeof derivePrefilter>>, text: string) => prefilterVerdict(pre, text) !== 'no';
const wholes = (p: string) => derivePrefilter(p)?.literals.map((l) => l.whole) ?? null;

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

  it('knows which alternatives are nothing but their literal', () => {
    assert.deepEqual(wholes('CrashLoopBackOff|Back-off restarting|(?i:crash ?looping)'), [true, true, false]);
    assert.deepEqual(wholes('(?i)OOMKill(ed|ing)|out of memory'), [false, true]);
    assert.deepEqual(wholes('^panic|fatal error: |goroutine \\d+|a\\.b\\?c'), [false, true, false, true]);
    assert.deepEqual(wholes('\\bforbidden\\b|timeout$|colou?r|x{2}yzw'), [false, false, false, false]);
  });

  it('answers yes only for a whole literal it found, and no only when the regex cannot match', () => {
    const pre = derivePrefilter('CrashLoopBackOff|(?i:crash ?looping)|(?i:OOM(ed)?)')!;
    assert.equal(prefilterVerdict(pre, 'pod in CrashLoopBackOff'), 'yes');
    assert.equal(prefilterVerdict(pre, 'pod is crash looping'), 'maybe', 'crash ?looping is not a literal: the regex decides');
    assert.equal(prefilterVerdict(pre, 'all fine'), 'no');
    const ci = derivePrefilter('(?i)out of memory|segfault')!;
    assert.equal(prefilterVerdict(ci, 'OUT OF MEMORY'), 'yes');
    assert.equal(prefilterVerdict(ci, 'ſegfault'), 'maybe', 'RE2 folds ſ to s; the JS regex does not');
  });

  it('agrees with RE2 on generated patterns and texts (seeded)', () => {
    let seed = 12;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)];
    const words = ['abc', 'Back-off', 'a\\.b', 'x\\?y', 'OOM', 'kill', 'ſegv', 'dé jà', 'k8s', 'a𝄞b'];
    const wraps = [(w: string) => w, (w: string) => `^${w}`, (w: string) => `${w}$`, (w: string) => `\\b${w}`, (w: string) => `${w}s?`,
      (w: string) => `(?i:${w})`, (w: string) => `(${w})`, (w: string) => `${w}[0-9]`, (w: string) => `${w} \\d+`,
      (w: string) => `(${w}|zq)x`, (w: string) => `(?:${w}|qz)+y`, (w: string) => `(?i)${w}`];
    const decoded = (w: string) => w.replaceAll('\\', '');
    let checked = 0;
    for (let n = 0; n < 300; n++) {
      const p = `${rnd(4) === 0 ? '(?i)' : ''}${Array.from({ length: 1 + rnd(3) }, () => pick(wraps)(pick(words))).join('|')}`;
      const pre = derivePrefilter(p);
      if (!pre) continue;
      const re = RE2JS.compile(p);
      for (let t = 0; t < 12; t++) {
        const w = decoded(pick(words));
        const text = pick([w, w.toUpperCase(), `${w}s`, `x${w}`, `${w} 42`, `${w}7`, `zz ${w}`, w.replace('k', 'K'), 'nothing', `${w}x`, `zqx ${w}y`, `${w}\u{10000}`]);
        const verdict = prefilterVerdict(pre, text);
        if (verdict === 'yes') assert.ok(re.test(text), `${p} on ${JSON.stringify(text)}: the prefilter said yes, RE2 no`);
        if (verdict === 'no') assert.ok(!re.test(text), `${p} on ${JSON.stringify(text)}: the prefilter said no, RE2 yes`);
        checked++;
      }
    }
    assert.ok(checked > 1000, `${checked} pairs checked`);
  });

  it('declines patterns it cannot reason about exactly', () => {
    for (const p of ['a|bcd', 'abc(?i)def', '\\x41BCD', '\\p{Greek}abcd', '\\Qa.b\\E', '.*', '[abc]+', '(abc', 'x(?-i:ABC)', '(?i)straße',
      // \Q…\E hides brackets and bars from the scanners; a lone surrogate is half a code point to RE2.
      '(\\Q)\\Eqqq|zzz|www)end', '(\\Q(\\E|abc)def|ghi\\Q)\\Ejkl', 'abc\ud800', '\udc00abc']) {
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
    let yes = 0;
    for (const p of patterns) {
      const pre = derivePrefilter(p);
      if (!pre) continue;
      derived++;
      const re = RE2JS.compile(p);
      for (const base of corpus) {
        for (const text of [base, base.toUpperCase(), base.toLowerCase(), `xx ${base} yy`, base.replace(/s/g, 'ſ')]) {
          const verdict = prefilterVerdict(pre, text);
          if (re.test(text)) assert.notEqual(verdict, 'no', `${p} matches ${JSON.stringify(text)} but the prefilter rejected it`);
          else assert.notEqual(verdict, 'yes', `${p} does not match ${JSON.stringify(text)} but the prefilter said it does`);
          if (verdict === 'yes') yes++;
        }
      }
    }
    assert.ok(derived >= patterns.length - 2, `prefilters derived for ${derived} of ${patterns.length} default patterns`);
    assert.ok(yes >= 30, `the literals alone decided ${yes} matches`);
  });
});
