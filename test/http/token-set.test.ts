// TokenSet: a presented bearer token matches only a configured token, byte for byte.
import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { TokenSet } from '../../src/http/auth.ts';

describe('TokenSet', () => {
  const set = new TokenSet({ tokens: ['ingest-one', 'second~Token+/='] });

  it('accepts each configured token', () => {
    assert.equal(set.has('ingest-one'), true);
    assert.equal(set.has('second~Token+/='), true);
  });

  it('refuses prefixes, extensions, other cases, other bytes and the empty token', () => {
    for (const t of ['ingest-on', 'ingest-one ', 'ingest-onee', 'INGEST-ONE', 'second~token+/=', 'second~Token+/', 'second~Token+/=\0', 'ingest-onè', '']) {
      assert.equal(set.has(t), false, JSON.stringify(t));
    }
  });

  it('fails closed when no token is configured', () => {
    const none = new TokenSet({ tokens: [] });
    assert.equal(none.size, 0);
    assert.equal(none.has(''), false);
    assert.equal(none.has('ingest-one'), false);
  });
});
