import assert from 'node:assert/strict';
import {
  ALL_GUARDS, PREFLIGHT_GUARDS, evaluate, excludedNamespaces, type GuardInput, type GuardReason,
} from '../../src/remediate/guards.ts';

const NOW = 1_714_557_600_000;

function input(over: Partial<GuardInput> = {}): GuardInput {
  return {
    settings: { enabled: true, dryRun: false, maxActionsPerHour: 10 },
    excludedNamespaces: excludedNamespaces(['kube-system', 'kube-public', 'kube-node-lease'], 'kube-sentinel'),
    namespace: 'shop',
    namespaceAnnotations: {},
    workloadAnnotations: {},
    target: 'Deployment/web',
    now: NOW,
    cooldownMs: 300_000,
    lastActionAt: null,
    actedLastHour: 0,
    attempts: 0,
    maxAttempts: 3,
    ...over,
  };
}

describe('remediate/guards (pure verdicts)', () => {
  const table: Array<[string, Partial<GuardInput>, GuardReason | null]> = [
    ['all clear', {}, null],
    ['disabled', { settings: { enabled: false, dryRun: false, maxActionsPerHour: 10 } }, 'disabled'],
    ['kube-system', { namespace: 'kube-system' }, 'excluded-namespace'],
    ['kube-node-lease', { namespace: 'kube-node-lease' }, 'excluded-namespace'],
    ["the server's own namespace", { namespace: 'kube-sentinel' }, 'excluded-namespace'],
    ['namespace opt-out', { namespaceAnnotations: { 'kube-sentinel.io/remediation': 'disabled' } }, 'opted-out'],
    ['workload opt-out (case/space tolerant)', { workloadAnnotations: { 'kube-sentinel.io/remediation': ' Disabled ' } }, 'opted-out'],
    ['other annotation value is not an opt-out', { workloadAnnotations: { 'kube-sentinel.io/remediation': 'enabled' } }, null],
    ['cooldown running', { lastActionAt: NOW - 60_000 }, 'cooldown'],
    ['cooldown just over', { lastActionAt: NOW - 300_000 }, null],
    ['zero cooldown', { lastActionAt: NOW - 1, cooldownMs: 0 }, null],
    ['budget used up', { actedLastHour: 10 }, 'budget-exhausted'],
    ['budget of zero', { settings: { enabled: true, dryRun: false, maxActionsPerHour: 0 } }, 'budget-exhausted'],
    ['budget one left', { actedLastHour: 9 }, null],
    ['max attempts reached', { attempts: 3 }, 'max-attempts'],
    ['below max attempts', { attempts: 2 }, null],
    ['dry-run with everything else passing', { settings: { enabled: true, dryRun: true, maxActionsPerHour: 10 } }, 'dry-run'],
    // Dry-run is last: a dry run still reports the real guard that would have stopped it.
    ['dry-run during cooldown reports cooldown', { settings: { enabled: true, dryRun: true, maxActionsPerHour: 10 }, lastActionAt: NOW - 1 }, 'cooldown'],
    ['dry-run over budget reports the budget', { settings: { enabled: true, dryRun: true, maxActionsPerHour: 1 }, actedLastHour: 1 }, 'budget-exhausted'],
    // Earlier guards win: an excluded namespace is reported even when disabled by annotation too.
    ['excluded beats opt-out', { namespace: 'kube-system', namespaceAnnotations: { 'kube-sentinel.io/remediation': 'disabled' } }, 'excluded-namespace'],
  ];

  for (const [name, over, reason] of table) {
    it(`${name} → ${reason ?? 'ok'}`, () => {
      const v = evaluate(ALL_GUARDS, input(over));
      if (reason === null) assert.deepEqual(v, { ok: true });
      else {
        assert.equal(v.ok, false);
        assert.equal(!v.ok && v.reason, reason);
        assert.ok(!v.ok && v.detail.length > 0);
      }
    });
  }

  it('preflight checks only what needs no cluster data', () => {
    assert.deepEqual(evaluate(PREFLIGHT_GUARDS, input({ workloadAnnotations: { 'kube-sentinel.io/remediation': 'disabled' }, attempts: 99 })), { ok: true });
    assert.equal(evaluate(PREFLIGHT_GUARDS, input({ namespace: 'kube-public' })).ok, false);
  });

  it('excluded namespaces always include the server namespace, without duplicates', () => {
    assert.deepEqual(excludedNamespaces(['a', 'b'], 'b'), ['a', 'b']);
    assert.deepEqual(excludedNamespaces([], 'ks'), ['ks']);
    assert.deepEqual(excludedNamespaces(['a'], null), ['a']);
  });

  it('cooldown detail says when it ends', () => {
    const v = evaluate(ALL_GUARDS, input({ lastActionAt: NOW - 60_000 }));
    assert.equal(!v.ok && v.detail, 'last action on Deployment/web 60s ago; cooldown ends in 240s');
  });
});
