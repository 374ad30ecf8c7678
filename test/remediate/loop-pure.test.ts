// The closed loop's pure decisions (DESIGN §6a): settling an intent against live facts, comparing a
// retry with the settled intent, the remediation decision over gathered facts, outcome judgement and
// the suspension rule. Tables cover every expectation kind against every kind of live fact.
import assert from 'node:assert/strict';
import { decide, type Facts } from '../../src/remediate/decide.ts';
import { compareRetry, describeExpectation, SETTLE_REASONS, settleIntent, templateHash, type LiveFacts } from '../../src/remediate/intent.ts';
import { countNow, countThen, judgeOutcome, shouldSuspend, type OutcomeFacts } from '../../src/remediate/outcome.ts';
import { SKIP_REASONS } from '../../src/remediate/reasons.ts';
import { logPassEnd } from '../../src/remediate/worker-support.ts';
import { NotLeaderError } from '../../src/leader/index.ts';
import type { Expectation } from '../../src/store/types.ts';

const UID = 'uid-1';
const replicas: Expectation = { kind: 'replicas', before: 3, after: 4 };
const template: Expectation = { kind: 'template', beforeHash: 'aaa', afterHash: 'bbb' };
const pod: Expectation = { kind: 'pod-deleted', podName: 'web-1', podUid: 'pod-uid' };
const pods: Expectation = { kind: 'pods-deleted', pods: [{ name: 'a', uid: 'ua' }, { name: 'b', uid: 'ub' }] };
const wl = (o: Partial<Extract<LiveFacts, { kind: 'workload' }>> = {}): LiveFacts => ({ kind: 'workload', uid: UID, replicas: 3, templateHash: 'aaa', ...o });
const livePod = (o: Partial<Extract<LiveFacts, { kind: 'pod' }>> = {}): LiveFacts => ({ kind: 'pod', uid: 'pod-uid', terminating: false, failing: true, ...o });

describe('remediate/intent: settleIntent', () => {
  const table: Array<[string, Expectation, LiveFacts, string, string]> = [
    // expectation, live facts → verdict, reason
    ['replicas landed', replicas, wl({ replicas: 4 }), 'landed', 'landed'],
    ['replicas not landed', replicas, wl({ replicas: 3 }), 'retry', 'not-landed'],
    ['replicas changed by someone else', replicas, wl({ replicas: 7 }), 'skip', 'target-changed'],
    ['replicas: workload recreated', replicas, wl({ uid: 'other', replicas: 4 }), 'skip', 'target-replaced'],
    ['replicas: workload gone', replicas, { kind: 'gone' }, 'skip', 'target-gone'],
    ['replicas: wrong facts', replicas, livePod(), 'skip', 'facts-mismatch'],
    ['template landed', template, wl({ templateHash: 'bbb' }), 'landed', 'landed'],
    ['template not landed', template, wl({ templateHash: 'aaa' }), 'retry', 'not-landed'],
    ['template changed by someone else', template, wl({ templateHash: 'ccc' }), 'skip', 'target-changed'],
    ['template: Deployment recreated', template, wl({ uid: 'x' }), 'skip', 'target-replaced'],
    ['template: Deployment gone', template, { kind: 'gone' }, 'skip', 'target-gone'],
    ['template: wrong facts', template, { kind: 'pods', remaining: [] }, 'skip', 'facts-mismatch'],
    ['pod gone', pod, { kind: 'gone' }, 'landed', 'landed'],
    ['pod replaced under its name', pod, livePod({ uid: 'new' }), 'landed', 'landed'],
    ['pod terminating', pod, livePod({ terminating: true }), 'landed', 'landed'],
    ['pod still failing', pod, livePod(), 'retry', 'not-landed'],
    ['pod recovered by itself', pod, livePod({ failing: false }), 'skip', 'pod-healthy'],
    ['pod: wrong facts', pod, wl(), 'skip', 'facts-mismatch'],
    ['stuck pods all gone', pods, { kind: 'pods', remaining: [] }, 'landed', 'landed'],
    ['stuck pods: none of the workload left', pods, { kind: 'gone' }, 'landed', 'landed'],
    ['stuck pods remain', pods, { kind: 'pods', remaining: ['ub'] }, 'retry', 'not-landed'],
    ['stuck pods: wrong facts', pods, wl(), 'skip', 'facts-mismatch'],
  ];
  for (const [name, expect, live, verdict, reason] of table) {
    it(`${name} → ${verdict} (${reason})`, () => {
      const s = settleIntent({ expect, targetUid: UID }, live);
      assert.deepEqual([s.verdict, s.reason], [verdict, reason]);
      assert.ok(s.detail.length > 0);
    });
  }
  it('every settle reason is produced by some row and belongs to the shared skip vocabulary', () => {
    const produced = new Set(table.map((r) => r[4]));
    assert.deepEqual([...SETTLE_REASONS].filter((r) => !produced.has(r)), []);
    for (const r of SETTLE_REASONS) assert.ok((SKIP_REASONS as readonly string[]).includes(r), r);
  });
});

describe('remediate/intent: compareRetry, templateHash, describeExpectation', () => {
  it('a retry must be the same change; a fresh plan starting where the intent ended means it landed late', () => {
    assert.equal(compareRetry(replicas, { kind: 'replicas', before: 3, after: 4 }), 'same');
    assert.equal(compareRetry(replicas, { kind: 'replicas', before: 4, after: 5 }), 'landed-meanwhile');
    assert.equal(compareRetry(replicas, { kind: 'replicas', before: 6, after: 7 }), 'changed');
    assert.equal(compareRetry(template, { kind: 'template', beforeHash: 'aaa', afterHash: 'bbb' }), 'same');
    assert.equal(compareRetry(template, { kind: 'template', beforeHash: 'bbb', afterHash: 'aaa' }), 'landed-meanwhile');
    assert.equal(compareRetry(template, { kind: 'template', beforeHash: 'ccc', afterHash: 'bbb' }), 'changed');
    assert.equal(compareRetry(pod, pod), 'same');
    assert.equal(compareRetry(pod, { ...pod, podUid: 'new' }), 'landed-meanwhile');
    assert.equal(compareRetry(pods, pods), 'same');
    assert.equal(compareRetry(replicas, template), 'changed');
  });
  it('template hashes ignore key order and undefined fields, and differ on any value', () => {
    const a = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'i:1' }] } };
    const b = { spec: { containers: [{ image: 'i:1', name: 'c' }] }, metadata: { labels: { app: 'web' }, annotations: undefined } };
    assert.equal(templateHash(a), templateHash(b));
    assert.notEqual(templateHash(a), templateHash({ ...a, spec: { containers: [{ name: 'c', image: 'i:2' }] } }));
    assert.match(templateHash(a), /^[0-9a-f]{16}$/);
  });
  it('describes changes in words', () => {
    assert.equal(describeExpectation(replicas), 'replicas 3→4');
    assert.equal(describeExpectation(pods), '2 pod(s) deleted: a, b');
  });
});

describe('remediate/decide', () => {
  const ok = { ok: true } as const;
  const base: Facts = { action: 'restart-pod', humanDecided: false, approvalRequired: false, cluster: true, preflight: ok };
  const full: Facts = { ...base, target: ok, suspension: null, guards: ok, plan: { kind: 'act', summary: 'delete pod shop/web-1 (CrashLoopBackOff), grace 30s' } };
  const cases: Array<[string, Facts, unknown]> = [
    ['no action', { ...base, action: 'none' }, { kind: 'skip', reason: 'no-action' }],
    ['preflight fails before any read', { ...base, preflight: { ok: false, reason: 'excluded-namespace', detail: 'x' } }, { kind: 'skip', reason: 'excluded-namespace' }],
    ['asks for the target first', base, { kind: 'need', step: 'target' }],
    ['unresolvable target', { ...base, target: { ok: false, reason: 'pod-not-found', detail: 'x' } }, { kind: 'skip', reason: 'pod-not-found' }],
    ['then the suspension', { ...base, target: ok }, { kind: 'need', step: 'suspension' }],
    ['suspended auto-action', { ...full, suspension: '2 ineffective' }, { kind: 'suspended' }],
    ['a human request runs despite a suspension', { ...full, suspension: '2 ineffective', humanDecided: true }, { kind: 'act' }],
    ['then the guards', { ...base, target: ok, suspension: null }, { kind: 'need', step: 'guards' }],
    ['max attempts escalates', { ...full, guards: { ok: false, reason: 'max-attempts', detail: 'x' } }, { kind: 'escalate' }],
    ['a failing guard skips', { ...full, guards: { ok: false, reason: 'cooldown', detail: 'x' } }, { kind: 'skip', reason: 'cooldown' }],
    ['then the plan', { ...base, target: ok, suspension: null, guards: ok }, { kind: 'need', step: 'plan' }],
    ['verify-before-act skip', { ...full, plan: { kind: 'skip', reason: 'pod-healthy', detail: 'x' } }, { kind: 'skip', reason: 'pod-healthy' }],
    ['dry-run after a verified plan', { ...full, guards: { ok: false, reason: 'dry-run', detail: 'x' } }, { kind: 'dry-run', reason: 'dry-run' }],
    ['approval required waits with the plan in words', { ...full, approvalRequired: true },
      { kind: 'await-approval', plan: 'would delete pod shop/web-1 (CrashLoopBackOff), grace 30s' }],
    ['approved acts', { ...full, approvalRequired: true, humanDecided: true }, { kind: 'act' }],
    ['dry-run wins over approval', { ...full, approvalRequired: true, guards: { ok: false, reason: 'dry-run', detail: 'x' } }, { kind: 'dry-run' }],
    ['no cluster: no target read, skip', { ...base, cluster: false, suspension: null, guards: ok }, { kind: 'skip', reason: 'no-cluster' }],
    ['no cluster in dry-run', { ...base, cluster: false, suspension: null, guards: { ok: false, reason: 'dry-run', detail: 'x' } }, { kind: 'dry-run', reason: 'no-cluster' }],
    ['everything passed', full, { kind: 'act' }],
  ];
  for (const [name, facts, want] of cases) {
    it(name, () => {
      const got = decide(facts) as Record<string, unknown>;
      for (const [k, v] of Object.entries(want as Record<string, unknown>)) assert.deepEqual(got[k], v, `${k} of ${JSON.stringify(got)}`);
    });
  }
});

describe('remediate/outcome', () => {
  const status = (o: Partial<NonNullable<OutcomeFacts['workload']>['status']> = {}) => ({
    generation: 2, observedGeneration: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2, ...o,
  });
  const f = (o: Partial<OutcomeFacts> = {}): OutcomeFacts => ({
    now: 100, workload: { replicas: 2, status: status() }, hadWorkload: true, groupCount: 5, podsRemaining: 0, ...o,
  });
  const v = (action: Parameters<typeof judgeOutcome>[0]['action'], expect: Expectation = replicas) => ({ action, expect, groupCount: 5, deadline: 200 });
  const j = (x: ReturnType<typeof judgeOutcome>) => (x.outcome === 'wait' ? 'wait' : `${x.outcome}:${x.reason}`);

  it('restart-pod: a recurrence is ineffective at once; success needs the whole window and ready replicas', () => {
    assert.equal(j(judgeOutcome(v('restart-pod'), f({ groupCount: 6 }))), 'ineffective:recurred');
    assert.equal(j(judgeOutcome(v('restart-pod'), f())), 'wait');
    assert.equal(j(judgeOutcome(v('restart-pod'), f({ now: 200 }))), 'effective:recovered');
    assert.equal(j(judgeOutcome(v('restart-pod'), f({ now: 200, workload: { replicas: 2, status: status({ readyReplicas: 1 }) } }))), 'ineffective:not-ready');
    assert.equal(j(judgeOutcome(v('restart-pod'), f({ now: 200, workload: null, hadWorkload: false }))), 'effective:recovered');
  });
  it('counts over the group and the others it watches: a rise in any is a recurrence, a group gone since is not', () => {
    const w = { groupCount: 4, others: [{ groupId: 7, count: 2 }, { groupId: 9, count: 5 }] };
    assert.equal(countThen(w), 11);
    assert.equal(countNow(w, 4, new Map([[7, 2], [9, 5]])), 11, 'nothing new');
    assert.equal(countNow(w, 4, new Map([[7, 3], [9, 5]])), 12, 'another group rose');
    assert.equal(countNow(w, 5, new Map([[7, 2], [9, 5]])), 12, 'the group itself rose');
    assert.equal(countNow(w, undefined, new Map()), 11, 'every group pruned: as it was');
    assert.equal(countNow(w, 4, new Map([[7, 1], [9, 5]])), 11, 'a lower count (a group re-created under the id) is no recurrence');
    assert.equal(j(judgeOutcome({ ...v('restart-pod'), groupCount: countThen(w) }, f({ groupCount: countNow(w, 4, new Map([[9, 6]])) }))),
      'ineffective:recurred');
  });
  it('scale: available replicas reaching the new count', () => {
    const up = v('scale-up', { kind: 'replicas', before: 2, after: 3 });
    assert.equal(j(judgeOutcome(up, f({ workload: { replicas: 3, status: status({ availableReplicas: 3 }) } }))), 'effective:reached');
    assert.equal(j(judgeOutcome(up, f({ workload: { replicas: 3, status: status() } }))), 'wait');
    assert.equal(j(judgeOutcome(up, f({ now: 200, workload: { replicas: 3, status: status() } }))), 'ineffective:not-reached');
    assert.equal(j(judgeOutcome(up, f({ workload: null }))), 'ineffective:target-gone');
    const down = v('scale-down', { kind: 'replicas', before: 3, after: 2 });
    assert.equal(j(judgeOutcome(down, f({ workload: { replicas: 2, status: status({ availableReplicas: 3 }) } }))), 'wait');
    assert.equal(j(judgeOutcome(down, f({ workload: { replicas: 2, status: status() } }))), 'effective:reached');
  });
  it('rollback: the rollout completed (observed generation, updated and available replicas)', () => {
    const rb = v('rollback', template);
    assert.equal(j(judgeOutcome(rb, f())), 'effective:rolled-out');
    assert.equal(j(judgeOutcome(rb, f({ workload: { replicas: 2, status: status({ observedGeneration: 1 }) } }))), 'wait');
    assert.equal(j(judgeOutcome(rb, f({ now: 250, workload: { replicas: 2, status: status({ updatedReplicas: 1 }) } }))), 'ineffective:rollout-stuck');
  });
  it('delete-stuck-pods: the pods are gone', () => {
    const ds = v('delete-stuck-pods', pods);
    assert.equal(j(judgeOutcome(ds, f())), 'effective:pods-gone');
    assert.equal(j(judgeOutcome(ds, f({ podsRemaining: 1 }))), 'wait');
    assert.equal(j(judgeOutcome(ds, f({ podsRemaining: 1, now: 200 }))), 'ineffective:pods-remain');
  });
  it('suspends after max ineffective outcomes in a row, newest first', () => {
    assert.equal(shouldSuspend(['ineffective', 'ineffective'], 2), true);
    assert.equal(shouldSuspend(['ineffective', 'effective', 'ineffective'], 2), false);
    assert.equal(shouldSuspend(['ineffective'], 2), false);
    assert.equal(shouldSuspend(['ineffective', 'ineffective', 'effective'], 2), true);
    assert.equal(shouldSuspend(['ineffective'], 1), true);
    assert.equal(shouldSuspend([], 1), false);
  });
});

describe('a remediation pass that threw', () => {
  const capture = () => {
    const lines: Array<[string, string | undefined]> = [];
    const at = (level: string) => (_obj: object, msg?: string) => { lines.push([level, msg]); };
    return { lines, log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
  };

  it('the term ending is routine (info); anything else is an error', () => {
    const ended = capture();
    logPassEnd(ended.log, new NotLeaderError('lease lost'));
    assert.deepEqual(ended.lines.map(([level]) => level), ['info']);
    const failed = capture();
    logPassEnd(failed.log, new Error('disk I/O error'));
    assert.deepEqual(failed.lines, [['error', 'remediation pass failed']]);
  });
});
