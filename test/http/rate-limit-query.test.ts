// Pure pieces of the hardening: the per-source token bucket and the query/id validators.
import assert from 'node:assert/strict';
import { AppError } from '../../src/domain/errors.ts';
import { parseGroupQuery, parseHistoryQuery, parseId } from '../../src/http/query.ts';
import { RateLimiter } from '../../src/http/rate-limit.ts';

describe('RateLimiter', () => {
  it('allows a burst, then the sustained rate, per source', () => {
    let now = 0;
    const l = new RateLimiter({ ratePerSecond: 2, burst: 4, now: () => now });
    assert.deepEqual([1, 2, 3, 4, 5].map(() => l.take('a')), [true, true, true, true, false]);
    assert.equal(l.take('b'), true, 'another source has its own bucket');
    assert.equal(l.retryAfterSeconds('a'), 1);
    now += 500;
    assert.equal(l.take('a'), true, 'half a second refills one token at 2/s');
    assert.equal(l.take('a'), false);
    now += 10_000;
    assert.deepEqual([1, 2, 3, 4, 5].map(() => l.take('a')), [true, true, true, true, false], 'refills up to the burst, not beyond');
  });

  it('tracks a bounded number of sources, forgetting the least recently seen', () => {
    let now = 0;
    const l = new RateLimiter({ ratePerSecond: 1, burst: 1, now: () => now, maxSources: 10 });
    for (let i = 0; i < 1000; i++) l.take(`src-${i}`);
    now += 1;
    assert.equal(l.take('src-999'), false, 'a recent source keeps its empty bucket');
    assert.equal(l.take('src-0'), true, 'an evicted source starts full, as it would be after idling');
  });
});

describe('query validation', () => {
  const invalid = (fn: () => unknown) => assert.throws(fn, (e: unknown) => e instanceof AppError && e.code === 'invalid_query');

  it('parseId takes plain decimal ids within 1..2^53-1 only', () => {
    assert.equal(parseId('1'), 1);
    assert.equal(parseId('9007199254740991'), 9007199254740991);
    for (const bad of ['0', '-1', '1e3', '1.0', '0x10', ' 1', '01', '9007199254740992', '99999999999999999999', '', 'Infinity']) {
      assert.equal(parseId(bad), null, bad);
    }
  });

  it('refuses values the database would refuse, naming the parameter', () => {
    invalid(() => parseGroupQuery({ namespace: 'a\u0000b' }, 0));
    invalid(() => parseGroupQuery({ pod: 'x'.repeat(513) }, 0));
    invalid(() => parseGroupQuery({ since: '99999999999999999999d' }, 0));
    invalid(() => parseGroupQuery({ since: '+275760-09-13T00:00:00Z' }, 0));
    invalid(() => parseGroupQuery({ page: '1e300' }, 0));
    invalid(() => parseHistoryQuery({ group_id: '1e300' }));
    invalid(() => parseHistoryQuery({ reason: '\u0000' }));
    try {
      parseGroupQuery({ since: '1e300', namespace: '\u0000' }, 0);
      assert.fail('should throw');
    } catch (err) {
      assert.deepEqual((err as AppError).details.map((d) => d.path).sort(), ['namespace', 'since']);
    }
  });

  it('keeps accepting what people type', () => {
    const q = parseGroupQuery({ namespace: 'kube-system', since: '1h30m', page: '2', page_size: '500', q: 'x'.repeat(1000) }, 10_000_000);
    assert.equal(q.since, 10_000_000 - 5_400_000);
    assert.equal(q.q?.length, 200, 'free text is cut, not refused');
    assert.equal(parseGroupQuery({ since: '2026-11-21T22:27:45.438Z' }, 0).since, Date.parse('2026-11-21T22:27:45.438Z'));
    assert.equal(parseHistoryQuery({ group_id: '42' }).groupId, 42);
  });
});
