import assert from 'node:assert/strict';
import { ALERT_RESOLVE_TIMEOUT_MS, EVENT_QUIET_PERIOD_MS, expiresAt } from '../../src/dedup/expiry.ts';

const T = Date.parse('2026-11-21T22:27:45Z');

describe('dedup/expiry', () => {
  it('a Prometheus alert expires at its "valid until" endsAt', () => {
    assert.equal(expiresAt({ source: 'alert', state: 'firing', endsAt: T + 240_000 }, T), T + 240_000);
  });
  it('an Alertmanager firing alert (no endsAt) gets Alertmanager\'s 5m resolve_timeout', () => {
    assert.equal(ALERT_RESOLVE_TIMEOUT_MS, 300_000);
    assert.equal(expiresAt({ source: 'alert', state: 'firing', endsAt: null }, T), T + 300_000);
  });
  it('an Event stays open for an hour after it was last received', () => {
    assert.equal(EVENT_QUIET_PERIOD_MS, 3_600_000);
    assert.equal(expiresAt({ source: 'event', state: 'firing', endsAt: null }, T), T + 3_600_000);
  });
  it('a resolved signal expires immediately', () => {
    assert.equal(expiresAt({ source: 'alert', state: 'resolved', endsAt: T - 60_000 }, T), T);
  });
  it('never expires before it was received', () => {
    assert.equal(expiresAt({ source: 'alert', state: 'firing', endsAt: T - 1 }, T), T);
  });
});
