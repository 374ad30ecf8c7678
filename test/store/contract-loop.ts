// Store contract, part 4: the closed remediation loop (DESIGN §6a) — claim takeover, the intent log,
// approvals, outcome verifications and suspensions. Both adapters run exactly these tests.
import assert from 'node:assert/strict';
import type { NewAuditEntry, NewIntent, Store } from '../../src/store/types.ts';
import { HOUR, makeItem, MINUTE, restartPod, T0 } from './factory.ts';

// A pod per group: groups about one pod would share one queued request (src/store/request-sharing.ts).
const item = (fingerprint: string, key: string, at = T0) => makeItem({
  fingerprint, receivedAt: at, signal: { occurrenceKey: key, pod: `web-${fingerprint}`, state: 'firing', endsAt: null },
  classification: { remediation: restartPod() },
});

const intent = (requestId: number, o: Partial<NewIntent> = {}): NewIntent => ({
  requestId, holder: 'leader-1', action: 'scale-up', namespace: 'shop', targetKind: 'Deployment', targetName: 'web',
  targetUid: 'uid-web', expect: { kind: 'replicas', before: 3, after: 4 }, summary: 'replicas 3→4', at: T0, ...o,
});

const replicasExpect = { kind: 'replicas' as const, before: 1, after: 2 };

const outcome = (o: 'effective' | 'ineffective', at: number, target = 'Deployment/web'): NewAuditEntry => ({
  requestId: null, groupId: null, at, rule: 'crashloop', action: 'restart-pod', namespace: 'shop', target,
  outcome: o, reason: '', message: 'm', actor: 'leader-1', cooldownKey: `crashloop|restart-pod|shop/${target}`,
});

export function loopContract(store: () => Store): void {
  describe('closed loop: claim takeover', () => {
    it('moves every claim held by someone else to the new holder at once, without counting an attempt', async () => {
      const [a] = await store().record([item('fp-a', 'k1')]);
      const [b] = await store().record([item('fp-b', 'k2')]);
      await store().record([item('fp-c', 'k3')]);
      const claimedByOld = await store().claimRequest('old', T0, 120_000);
      const claimedByNew = await store().claimRequest('new', T0, 120_000);
      assert.deepEqual([claimedByOld?.id, claimedByNew?.id], [a.remediationRequestId, b.remediationRequestId]);

      const taken = await store().takeOverClaims('new', T0 + 1000, 60_000);
      assert.deepEqual(taken.map((r) => [r.id, r.claimedBy, r.claimedUntil, r.attempts, r.state]),
        [[a.remediationRequestId, 'new', T0 + 61_000, 1, 'claimed']], 'only the other holder\'s claim; its own and the pending one untouched');
      assert.equal(await store().finishRequest(a.remediationRequestId!, 'old', { state: 'done' }), false, 'the old holder can no longer finish it');
      assert.equal(await store().finishRequest(a.remediationRequestId!, 'new', { state: 'done' }), true);
      assert.deepEqual(await store().takeOverClaims('new', T0 + 2000, 60_000), [], 'nothing left to take');
    });
  });

  describe('closed loop: intent log', () => {
    it('an intent is open until closed once; its expectation round-trips', async () => {
      const [r] = await store().record([item('fp-a', 'k1')]);
      const id = await store().writeIntent(intent(r.remediationRequestId!));
      const second = await store().writeIntent(intent(r.remediationRequestId!, {
        action: 'rollback', expect: { kind: 'template', beforeHash: 'h1', afterHash: 'h2' }, summary: 'template h1→h2',
      }));
      const open = await store().openIntents(r.remediationRequestId!);
      assert.deepEqual(open.map((i) => [i.id, i.state, i.summary]), [[id, 'open', 'replicas 3→4'], [second, 'open', 'template h1→h2']]);
      assert.deepEqual(open[0].expect, { kind: 'replicas', before: 3, after: 4 });
      assert.deepEqual([open[0].holder, open[0].targetKind, open[0].targetName, open[0].targetUid, open[0].createdAt],
        ['leader-1', 'Deployment', 'web', 'uid-web', T0]);
      assert.equal(await store().closeIntent(id, { state: 'done', reason: 'landed', by: 'leader-2', at: T0 + 5 }), true);
      assert.equal(await store().closeIntent(id, { state: 'superseded', reason: 'not-landed', by: 'leader-3', at: T0 + 6 }), false,
        'a closed intent is never reopened or re-closed');
      assert.deepEqual((await store().openIntents(r.remediationRequestId!)).map((i) => i.id), [second]);
      assert.deepEqual(await store().openIntents(9999), []);
    });
  });

  describe('closed loop: approvals and manual requests', () => {
    it('awaiting-approval is never claimed; approve makes it due at once, reject closes it; both only once', async () => {
      const [a] = await store().record([item('fp-a', 'k1')]);
      const [b] = await store().record([item('fp-b', 'k2')]);
      for (const id of [a.remediationRequestId!, b.remediationRequestId!]) {
        const c = await store().claimRequest('leader', T0, 60_000);
        assert.equal(c?.id, id);
        assert.equal(await store().finishRequest(id, 'leader', { state: 'awaiting-approval', plan: 'would delete pod shop/web-1', expiresAt: T0 + 3_600_000 }), true);
      }
      assert.equal(await store().claimRequest('leader', T0 + MINUTE, 60_000), null, 'nothing claimable while awaiting');
      const waiting = await store().listRequests({ state: 'awaiting-approval', page: 1, pageSize: 10 });
      assert.equal(waiting.total, 2);
      assert.deepEqual(waiting.requests.map((r) => [r.plan, r.approvalExpiresAt]), [['would delete pod shop/web-1', T0 + 3_600_000], ['would delete pod shop/web-1', T0 + 3_600_000]]);

      const ok = await store().decideApproval(a.remediationRequestId!, { approve: true, by: 'admin-1a2b', comment: 'go', now: T0 + MINUTE });
      assert.deepEqual([ok?.state, ok?.approved, ok?.decidedBy, ok?.decisionComment, ok?.nextAttemptAt], ['pending', true, 'admin-1a2b', 'go', T0 + MINUTE]);
      assert.equal(await store().decideApproval(a.remediationRequestId!, { approve: false, by: 'x', comment: '', now: T0 + MINUTE }), null, 'already decided');
      const no = await store().decideApproval(b.remediationRequestId!, { approve: false, by: 'admin-1a2b', comment: 'not now', now: T0 + MINUTE });
      assert.deepEqual([no?.state, no?.approved, no?.decisionComment], ['rejected', false, 'not now']);
      const claimed = await store().claimRequest('leader', T0 + MINUTE, 60_000);
      assert.deepEqual([claimed?.id, claimed?.approved], [a.remediationRequestId, true]);
      assert.equal(await store().claimRequest('leader', T0 + MINUTE, 60_000), null, 'the rejected one never runs');
      assert.equal((await store().getRequest(b.remediationRequestId!))?.state, 'rejected');
      assert.equal(await store().getRequest(424242), null);
    });

    it('unanswered requests expire after their deadline, and only those', async () => {
      const [a] = await store().record([item('fp-a', 'k1')]);
      const [b] = await store().record([item('fp-b', 'k2')]);
      await store().claimRequest('l', T0, 60_000);
      await store().finishRequest(a.remediationRequestId!, 'l', { state: 'awaiting-approval', plan: 'p', expiresAt: T0 + 1000 });
      await store().claimRequest('l', T0, 60_000);
      await store().finishRequest(b.remediationRequestId!, 'l', { state: 'awaiting-approval', plan: 'p', expiresAt: T0 + 5000 });
      assert.deepEqual(await store().expireApprovals(T0 + 1000), [], 'not before the deadline');
      assert.deepEqual((await store().expireApprovals(T0 + 1001)).map((r) => [r.id, r.state]), [[a.remediationRequestId, 'expired']]);
      assert.equal(await store().decideApproval(a.remediationRequestId!, { approve: true, by: 'x', comment: '', now: T0 + 2000 }), null, 'too late to approve');
      assert.equal((await store().listRequests({ state: 'awaiting-approval', page: 1, pageSize: 10 })).total, 1);
    });

    it('a manual request is queued due now, with force and who asked; listing pages newest first', async () => {
      const [g] = await store().record([makeItem({ fingerprint: 'fp-m', signal: { occurrenceKey: 'k1' }, classification: { remediation: null } })]);
      const ids: number[] = [];
      for (const force of [false, true]) {
        ids.push(await store().queueRequest({
          groupId: g.groupId, fingerprint: 'fp-m', rule: 'crashloop', action: 'restart-pod', params: { grace: '5' }, cooldownMs: MINUTE,
          namespace: 'shop', pod: 'web-1', container: '', owner: { kind: 'Deployment', name: 'web' }, at: T0, force, requestedBy: 'admin-1a2b',
        }));
      }
      assert.equal((await store().listRequests({ groupId: g.groupId, page: 1, pageSize: 10 })).total, 2);
      assert.equal((await store().listRequests({ groupId: g.groupId + 1000, page: 1, pageSize: 10 })).total, 0);
      assert.equal((await store().listRequests({ groupId: g.groupId, state: 'done', page: 1, pageSize: 10 })).total, 0);
      const page1 = await store().listRequests({ page: 1, pageSize: 1 });
      assert.deepEqual([page1.total, page1.requests.map((r) => r.id)], [2, [ids[1]]]);
      assert.deepEqual((await store().listRequests({ page: 2, pageSize: 1 })).requests.map((r) => r.id), [ids[0]]);
      const c = await store().claimRequest('l', T0, 60_000);
      assert.deepEqual([c?.id, c?.force, c?.requestedBy, c?.params, c?.owner, c?.state], [ids[0], false, 'admin-1a2b', { grace: '5' }, { kind: 'Deployment', name: 'web' }, 'claimed']);
      assert.equal((await store().claimRequest('l', T0, 60_000))?.force, true);
    });
  });

  describe('remediation requests: one per target', () => {
    type About = { pod?: string; grace?: string; container?: string; namespace?: string; owner?: null; cooldownMs?: number; rule?: string };
    const about = (fingerprint: string, key: string, o: About = {}, at = T0) => makeItem({
      fingerprint, receivedAt: at,
      signal: { occurrenceKey: key, pod: o.pod ?? 'web-1', container: o.container ?? 'api', state: 'firing', endsAt: null,
        namespace: o.namespace ?? 'shop', ...(o.owner === null ? { owner: null } : {}) },
      classification: { rule: o.rule ?? 'crashloop-backoff', remediation: { ...restartPod(o.cooldownMs), params: { grace: o.grace ?? '30' } } },
    });

    it('new groups about one target share its queued request, in one batch and across batches, until it is claimed', async () => {
      const [a, b] = await store().record([about('fp-s1', 'k1', {}, T0), about('fp-s2', 'k2', {}, T0 + 1)]);
      const [c] = await store().record([about('fp-s3', 'k3', {}, T0 + 2)]);
      assert.notEqual(a.groupId, b.groupId);
      assert.ok(a.remediationRequestId !== null);
      assert.deepEqual([b.remediationRequestId, c.remediationRequestId], [a.remediationRequestId, a.remediationRequestId]);
      const claimed = await store().claimRequests('h', T0 + MINUTE, 60_000, 10);
      assert.deepEqual(claimed.map((r) => [r.id, r.groupId, r.fingerprint, r.createdAt, r.pod]),
        [[a.remediationRequestId, a.groupId, 'fp-s1', T0, 'web-1']], 'one request, of the first group, due from its item');
      const [d] = await store().record([about('fp-s4', 'k4', {}, T0 + 3)]);
      assert.ok(d.remediationRequestId !== null && d.remediationRequestId !== a.remediationRequestId, 'a claimed request is not shared');
      const [e] = await store().record([about('fp-s5', 'k5', {}, T0 + 4)]);
      assert.equal(e.remediationRequestId, d.remediationRequestId);
    });

    it('another pod, container or parameter, a request a human queued, or one tried before is not shared', async () => {
      const [base] = await store().record([about('fp-t1', 'k1')]);
      const others = await store().record([about('fp-t2', 'k2', { pod: 'web-2' }), about('fp-t3', 'k3', { container: 'side' }),
        about('fp-t4', 'k4', { grace: '5' }), about('fp-t7', 'k7', { namespace: 'billing' }), about('fp-t8', 'k8', { owner: null }),
        about('fp-t9', 'k9', { cooldownMs: MINUTE }), about('fp-t10', 'k10', { rule: 'oom-killed' })]);
      const ids = [base, ...others].map((r) => r.remediationRequestId);
      assert.equal(new Set(ids).size, 8, `eight requests: ${ids.join(', ')}`);
      const manual = await store().queueRequest({
        groupId: base.groupId, fingerprint: 'fp-t1', rule: 'crashloop-backoff', action: 'restart-pod', params: { grace: '30' },
        cooldownMs: 5 * MINUTE, namespace: 'shop', pod: 'web-9', container: 'api', owner: { kind: 'Deployment', name: 'web' }, at: T0, force: false,
        requestedBy: 'admin-1a2b',
      });
      const [m] = await store().record([about('fp-t5', 'k5', { pod: 'web-9' })]);
      assert.ok(m.remediationRequestId !== null && m.remediationRequestId !== manual, 'a request a human queued is theirs');
      const all = await store().claimRequests('h', T0 + MINUTE, 60_000, 20);
      assert.equal(all.length, 10);
      await store().finishRequest(base.remediationRequestId!, 'h', { state: 'pending', nextAttemptAt: T0 + MINUTE, error: 'conflict' });
      const [t] = await store().record([about('fp-t6', 'k6')]);
      assert.ok(t.remediationRequestId !== null && t.remediationRequestId !== base.remediationRequestId, 'tried before: not shared');
    });

    it('a request other groups share stays on its pod when its own group moves on; unshared, it follows the group', async () => {
      const [a] = await store().record([about('fp-m1', 'k1')]);
      const [b] = await store().record([about('fp-m2', 'k2')]);
      assert.equal(b.remediationRequestId, a.remediationRequestId);
      const [moved] = await store().record([about('fp-m1', 'k3', { pod: 'web-2' })]);
      assert.ok(moved.remediationRequestId !== null && moved.remediationRequestId !== a.remediationRequestId, 'the group gets a request of its own');
      assert.deepEqual([(await store().getRequest(a.remediationRequestId!))?.pod, (await store().getRequest(moved.remediationRequestId!))?.pod],
        ['web-1', 'web-2'], 'the shared one still aims where its sharer needs it');
      const [again] = await store().record([about('fp-m1', 'k4', { pod: 'web-3' })]);
      assert.equal(again.remediationRequestId, moved.remediationRequestId, 'its own, unshared request follows it');
      assert.equal((await store().getRequest(moved.remediationRequestId!))?.pod, 'web-3');
    });
  });

  describe('closed loop: retention', () => {
    it('prune drops closed intents, decided verifications, lifted suspensions and refused/expired requests; keeps open and active ones', async () => {
      const [r] = await store().record([item('fp-a', 'k1')]);
      const rid = r.remediationRequestId!;
      const closed = await store().writeIntent(intent(rid, { at: T0 }));
      await store().closeIntent(closed, { state: 'done', reason: 'landed', by: 'x', at: T0 });
      const open = await store().writeIntent(intent(rid, { at: T0 }));
      const v = { requestId: rid, groupId: r.groupId, rule: 'crashloop', action: 'restart-pod' as const, namespace: 'shop', target: 'Deployment/web',
        cooldownKey: 'k', expect: replicasExpect, groupCount: 1, others: [], actedAt: T0, deadline: T0 + MINUTE };
      const decided = await store().scheduleVerification(v);
      await store().closeVerification(decided, 'effective', T0);
      const pending = await store().scheduleVerification(v);
      const lifted = await store().suspend({ rule: 'a', namespace: 'shop', target: 'Deployment/web', reason: 'r', at: T0 });
      await store().liftSuspension(lifted.id, 'admin', T0 + 1);
      const active = await store().suspend({ rule: 'b', namespace: 'shop', target: 'Deployment/web', reason: 'r', at: T0 });
      await store().claimRequest('l', T0, 60_000);
      await store().finishRequest(rid, 'l', { state: 'awaiting-approval', plan: 'p', expiresAt: T0 + 1 });
      await store().decideApproval(rid, { approve: false, by: 'admin', comment: '', now: T0 + 2 });

      await store().prune(T0 + HOUR);
      assert.deepEqual((await store().openIntents(rid)).map((i) => i.id), [open], 'the open intent stays');
      assert.deepEqual((await store().openVerifications()).map((x) => x.id), [pending]);
      assert.deepEqual((await store().listSuspensions({})).map((x) => x.id), [active.id]);
      assert.equal(await store().getRequest(rid), null, 'the rejected request is gone');
    });
  });

  describe('closed loop: verifications and suspensions', () => {
    it('a verification is open until decided once', async () => {
      const v = {
        requestId: 1, groupId: 2, rule: 'crashloop', action: 'scale-up' as const, namespace: 'shop', target: 'Deployment/web',
        cooldownKey: 'k', expect: { kind: 'replicas' as const, before: 1, after: 2 }, groupCount: 7,
        others: [{ groupId: 9, count: 4 }, { groupId: 3, count: 1 }], actedAt: T0, deadline: T0 + 5 * MINUTE,
      };
      const id = await store().scheduleVerification(v);
      assert.deepEqual(await store().openVerifications(), [{ ...v, id, state: 'open' }]);
      assert.equal(await store().closeVerification(id, 'effective', T0 + MINUTE), true);
      assert.equal(await store().closeVerification(id, 'ineffective', T0 + 2 * MINUTE), false);
      assert.deepEqual(await store().openVerifications(), []);
    });

    it('finds the groups of a rule about a pod, and reads the counts of the groups that still exist', async () => {
      const about = (fingerprint: string, o: { pod?: string; rule?: string; namespace?: string; key?: string; at?: number } = {}) => makeItem({
        fingerprint, receivedAt: o.at ?? T0,
        signal: { occurrenceKey: o.key ?? `k-${fingerprint}`, pod: o.pod ?? 'web-1', namespace: o.namespace ?? 'shop' },
        classification: { rule: o.rule ?? 'crashloop' },
      });
      const [a] = await store().record([about('fp-a')]);
      const [b] = await store().record([about('fp-b', { at: T0 + MINUTE })]);
      await store().record([about('fp-a', { key: 'k-a2', at: T0 + 2 * MINUTE })]);
      await store().record([about('fp-c', { pod: 'web-2' }), about('fp-d', { rule: 'oom' }), about('fp-e', { namespace: 'other' })]);
      const of = { rule: 'crashloop', namespace: 'shop', pod: 'web-1' };
      assert.deepEqual(await store().groupsAbout({ ...of, except: 0 }), [{ groupId: a.groupId, count: 2 }, { groupId: b.groupId, count: 1 }],
        'only the rule\'s groups about that pod, the most recently seen first');
      assert.deepEqual(await store().groupsAbout({ ...of, except: a.groupId }), [{ groupId: b.groupId, count: 1 }], 'all but the one excepted');
      assert.deepEqual(await store().groupsAbout({ ...of, pod: 'web-9', except: 0 }), []);
      const counts = await store().groupCounts([b.groupId, a.groupId, 987_654]);
      assert.deepEqual(counts.sort((x, y) => x.groupId - y.groupId), [{ groupId: a.groupId, count: 2 }, { groupId: b.groupId, count: 1 }],
        'a group that does not exist is left out');
      assert.deepEqual(await store().groupCounts([]), []);
    });

    it('recent outcomes per (rule, workload) come newest first, after `since`', async () => {
      await store().appendAudit(outcome('effective', T0));
      await store().appendAudit(outcome('ineffective', T0 + 1));
      await store().appendAudit(outcome('ineffective', T0 + 2));
      await store().appendAudit(outcome('ineffective', T0 + 3, 'Deployment/api'));
      assert.deepEqual(await store().recentOutcomes({ rule: 'crashloop', namespace: 'shop', target: 'Deployment/web' }, 0, 10), ['ineffective', 'ineffective', 'effective']);
      assert.deepEqual(await store().recentOutcomes({ rule: 'crashloop', namespace: 'shop', target: 'Deployment/web' }, 0, 2), ['ineffective', 'ineffective']);
      assert.deepEqual(await store().recentOutcomes({ rule: 'crashloop', namespace: 'shop', target: 'Deployment/web' }, T0 + 1, 10), ['ineffective']);
    });

    it('one active suspension per (rule, workload); lifting it ends it and records who', async () => {
      const key = { rule: 'crashloop', namespace: 'shop', target: 'Deployment/web' };
      const s1 = await store().suspend({ ...key, reason: '2 ineffective in a row', at: T0 });
      const again = await store().suspend({ ...key, reason: 'other', at: T0 + 1 });
      assert.equal(again.id, s1.id, 'idempotent while active');
      assert.equal(again.reason, '2 ineffective in a row');
      assert.equal((await store().activeSuspension(key.rule, key.namespace, key.target))?.id, s1.id);
      assert.equal(await store().activeSuspension(key.rule, key.namespace, 'Deployment/api'), null);
      assert.equal(await store().lastLiftedAt(key.rule, key.namespace, key.target), null);
      const lifted = await store().liftSuspension(s1.id, 'admin-1a2b', T0 + MINUTE);
      assert.deepEqual([lifted?.liftedBy, lifted?.liftedAt], ['admin-1a2b', new Date(T0 + MINUTE).toISOString()]);
      assert.equal(await store().liftSuspension(s1.id, 'x', T0 + 2 * MINUTE), null, 'lifted once');
      assert.equal(await store().activeSuspension(key.rule, key.namespace, key.target), null);
      assert.equal(await store().lastLiftedAt(key.rule, key.namespace, key.target), T0 + MINUTE);
      const s2 = await store().suspend({ ...key, reason: 'again', at: T0 + 3 * MINUTE });
      assert.notEqual(s2.id, s1.id);
      assert.deepEqual((await store().listSuspensions({ active: true })).map((s) => s.id), [s2.id]);
      assert.deepEqual((await store().listSuspensions({})).map((s) => s.id), [s2.id, s1.id]);
    });
  });
}
