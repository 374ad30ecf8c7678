// Store contract, part 3: remediation requests, claims, audit/history, cooldown queries, settings.
import assert from 'node:assert/strict';
import type { AuditOutcome, NewAuditEntry, Store } from '../../src/store/types.ts';
import { HOUR, makeItem, MINUTE, restartPod, T0 } from './factory.ts';

// `grace`: another parameter for the same action on the same pod, so the request is not shared (alike, though).
const withAction = (key: string, receivedAt: number, o: { pod?: string; state?: 'firing' | 'resolved'; fingerprint?: string; grace?: string } = {}) =>
  makeItem({
    fingerprint: o.fingerprint ?? 'fp-a',
    receivedAt,
    signal: { occurrenceKey: key, pod: o.pod ?? 'web-1', state: o.state ?? 'firing', endsAt: null },
    classification: { remediation: o.grace === undefined ? restartPod() : { ...restartPod(), params: { grace: o.grace } } },
  });

function audit(o: Partial<NewAuditEntry> & { outcome: AuditOutcome; at: number }): NewAuditEntry {
  return {
    requestId: null,
    groupId: null,
    rule: 'crashloop-backoff',
    action: 'restart-pod',
    namespace: 'shop',
    target: 'Pod/web-1',
    reason: o.outcome === 'skipped' ? 'cooldown' : 'ok',
    message: 'm',
    actor: 'leader-1',
    cooldownKey: 'crashloop-backoff|restart-pod|shop/Deployment/web',
    ...o,
  };
}

export function remediationContract(store: () => Store): void {
  describe('remediation requests', () => {
    it('queues a request only for a firing real occurrence whose rule has an action', async () => {
      const none = makeItem({ signal: { occurrenceKey: 'n1' }, classification: { remediation: null } });
      const noop = makeItem({ fingerprint: 'fp-b', signal: { occurrenceKey: 'n2' },
        classification: { remediation: { action: 'none', params: {}, cooldownMs: 0 } } });
      const [r1, r2] = await store().record([none, noop]);
      assert.deepEqual([r1.remediationRequestId, r2.remediationRequestId], [null, null]);

      const [fire] = await store().record([withAction('k1', T0, { fingerprint: 'fp-c' })]);
      assert.equal(typeof fire.remediationRequestId, 'number');
      const [again] = await store().record([withAction('k1', T0 + MINUTE, { fingerprint: 'fp-c' })]);
      assert.equal(again.remediationRequestId, null, 're-delivery');
      const [res] = await store().record([withAction('k1', T0 + MINUTE, { fingerprint: 'fp-c', state: 'resolved' })]);
      assert.equal(res.remediationRequestId, null, 'resolution');
      const [fresh] = await store().record([withAction('k9', T0, { fingerprint: 'fp-d', state: 'resolved' })]);
      assert.equal(fresh.remediationRequestId, null, 'never-seen resolution counts but does not act');
    });

    it('a burst of occurrences shares one pending request, retargeted to the newest pod', async () => {
      const [a, b] = await store().record([withAction('k1', T0, { pod: 'web-1' }), withAction('k2', T0 + 1, { pod: 'web-2' })]);
      const [c] = await store().record([withAction('k3', T0 + 2, { pod: 'web-3' })]);
      assert.ok(a.remediationRequestId !== null);
      assert.equal(b.remediationRequestId, a.remediationRequestId);
      assert.equal(c.remediationRequestId, a.remediationRequestId);
      const req = await store().claimRequest('h1', T0 + MINUTE, 30_000);
      assert.equal(req?.pod, 'web-3');
      assert.equal(await store().claimRequest('h1', T0 + MINUTE, 30_000), null, 'only one request was queued');
      // While the first is claimed, a new occurrence queues a new request.
      const [d] = await store().record([withAction('k4', T0 + 3, { pod: 'web-4' })]);
      assert.ok(d.remediationRequestId !== null && d.remediationRequestId !== a.remediationRequestId);
    });

    it('one batch over several groups queues one request per group, due from its first item, aimed at its newest', async () => {
      const results = await store().record([
        withAction('k1', T0, { fingerprint: 'fp-x', pod: 'x-1' }), withAction('k1', T0 + 1, { fingerprint: 'fp-y', pod: 'y-1' }),
        withAction('k2', T0 + 2, { fingerprint: 'fp-x', pod: 'x-2' }), withAction('k2', T0 + 3, { fingerprint: 'fp-y', pod: 'y-2' }),
      ]);
      const ids = results.map((r) => r.remediationRequestId);
      assert.ok(ids[0] !== null && ids[1] !== null && ids[0] !== ids[1]);
      assert.deepEqual([ids[2], ids[3]], [ids[0], ids[1]]);
      const first = await store().claimRequest('h1', T0 + MINUTE, 30_000);
      const second = await store().claimRequest('h1', T0 + MINUTE, 30_000);
      assert.deepEqual([first?.id, first?.pod, first?.createdAt], [ids[0], 'x-2', T0]);
      assert.deepEqual([second?.id, second?.pod, second?.createdAt], [ids[1], 'y-2', T0 + 1]);
      assert.equal(await store().claimRequest('h1', T0 + MINUTE, 30_000), null);
    });

    it('claim returns the full request, oldest first, and is exclusive', async () => {
      const [first] = await store().record([withAction('k1', T0, { fingerprint: 'fp-1' })]);
      const [second] = await store().record([withAction('k2', T0 + 1000, { fingerprint: 'fp-2', pod: 'web-2' })]);
      const now = T0 + MINUTE;
      const x = await store().claimRequest('h1', now, 30_000);
      const y = await store().claimRequest('h2', now, 30_000);
      assert.deepEqual([x?.id, y?.id], [first.remediationRequestId, second.remediationRequestId]);
      assert.deepEqual({ ...x, id: 0, groupId: 0 }, {
        id: 0, groupId: 0, fingerprint: 'fp-1', rule: 'crashloop-backoff', action: 'restart-pod',
        params: { grace: '30' }, cooldownMs: 5 * MINUTE, namespace: 'shop', pod: 'web-1', container: 'api',
        owner: { kind: 'Deployment', name: 'web' }, createdAt: T0, state: 'claimed', attempts: 1,
        nextAttemptAt: T0, claimedBy: 'h1', claimedUntil: now + 30_000, lastError: null,
        plan: null, approvalExpiresAt: null, approved: false, decidedBy: null, decisionComment: null, force: false, requestedBy: null,
      });
      assert.equal(x?.groupId, first.groupId);
      assert.equal(await store().claimRequest('h3', now + 1000, 30_000), null, 'nothing else is due');
    });

    it('concurrent claimers of one request: exactly one wins', async () => {
      await store().record([withAction('k1', T0)]);
      const claims = await Promise.all(['a', 'b', 'c', 'd'].map((h) => store().claimRequest(h, T0 + MINUTE, 30_000)));
      assert.equal(claims.filter((c) => c !== null).length, 1);
    });

    it('an expired claim can be taken over; the old holder can then no longer finish it', async () => {
      const [r] = await store().record([withAction('k1', T0)]);
      const a = await store().claimRequest('old-leader', T0, 10_000);
      assert.equal(await store().claimRequest('new-leader', T0 + 10_000, 10_000), null, 'claim still valid at its deadline');
      const b = await store().claimRequest('new-leader', T0 + 10_001, 10_000);
      assert.deepEqual([a?.id, b?.id, b?.attempts, b?.claimedBy], [r.remediationRequestId, r.remediationRequestId, 2, 'new-leader']);
      assert.equal(await store().finishRequest(b!.id, 'old-leader', { state: 'done' }), false);
      assert.equal(await store().finishRequest(b!.id, 'new-leader', { state: 'done' }), true);
      assert.equal(await store().finishRequest(b!.id, 'new-leader', { state: 'done' }), false, 'no longer claimed');
      assert.equal(await store().claimRequest('x', T0 + HOUR, 10_000), null, 'done is final');
    });

    it('decisions are finished and audited in one commit, each only by its claim\'s current holder', async () => {
      const [r1] = await store().record([withAction('k1', T0, { fingerprint: 'fp-d1' })]);
      const [r2] = await store().record([withAction('k2', T0 + 1, { fingerprint: 'fp-d2', pod: 'web-2' })]);
      assert.equal((await store().claimRequests('old-leader', T0 + 1, 10_000, 10)).length, 2);
      const b = await store().claimRequest('new-leader', T0 + 10_002, 10_000);
      assert.equal(b?.id, r1.remediationRequestId, 'the new leader took the oldest claim over');
      const decided = (actor: string, r: typeof r1) => ({
        id: r.remediationRequestId!,
        audit: audit({ outcome: 'skipped', reason: 'cooldown', at: T0 + 10_003, groupId: r.groupId, requestId: r.remediationRequestId, actor }),
      });
      const [lost, kept] = await store().finishDecided('old-leader', [decided('old-leader', r1), decided('old-leader', r2)]);
      assert.equal(lost, null, 'the claim taken over: nothing written for it');
      assert.equal(typeof kept, 'number', 'the claim still held: finished and audited');
      const [id] = await store().finishDecided('new-leader', [decided('new-leader', r1)]);
      assert.equal(typeof id, 'number');
      assert.deepEqual(await store().finishDecided('new-leader', [decided('new-leader', r1)]), [null], 'done is final');
      const history = await store().listHistory({ page: 1, pageSize: 10 });
      assert.deepEqual(history.entries.map((e) => [e.id, e.actor, e.requestId]).sort((x, y) => Number(x[0]) - Number(y[0])),
        [[kept, 'old-leader', r2.remediationRequestId], [id, 'new-leader', r1.remediationRequestId]]);
      assert.equal(await store().claimRequest('x', T0 + HOUR, 10_000), null, 'both requests are done');
    });

    it('a cooldown skip decides the due requests alike it in one commit: same pod and rule, queued by ingest, never tried', async () => {
      const at = (i: number) => T0 + i;
      const [like] = await store().record([withAction('a0', at(0), { fingerprint: 'fp-l0', grace: '0' })]);
      const [intended] = await store().record([withAction('a1', at(1), { fingerprint: 'fp-l1', grace: '1' })]);
      const [tried] = await store().record([withAction('a2', at(2), { fingerprint: 'fp-l2', grace: '2' })]);
      const [alike] = await store().record([withAction('a3', at(3), { fingerprint: 'fp-l3', grace: '3' })]);
      const [otherPod] = await store().record([withAction('a4', at(4), { fingerprint: 'fp-l4', pod: 'web-2' })]);
      assert.equal((await store().claimRequest('h', at(10), 60_000))?.id, like.remediationRequestId);
      // Claimed, an intent written, then handed back undecided: not an attempt, but its intent is open.
      assert.equal((await store().claimRequest('y', at(10), 60_000))?.id, intended.remediationRequestId);
      await store().writeIntent({ requestId: intended.remediationRequestId!, holder: 'y', action: 'restart-pod', namespace: 'shop',
        targetKind: 'Pod', targetName: 'web-1', targetUid: 'u1', expect: { kind: 'pod-deleted', podName: 'web-1', podUid: 'u1' }, summary: 's', at: at(10) });
      await store().finishRequest(intended.remediationRequestId!, 'y', { state: 'pending', nextAttemptAt: at(15), error: 'lost the lease', handedBack: true });
      assert.equal((await store().claimRequest('x', at(10), 60_000))?.id, tried.remediationRequestId);
      await store().finishRequest(tried.remediationRequestId!, 'x', { state: 'pending', nextAttemptAt: at(10), error: 'conflict' });
      const model = (await store().getRequest(alike.remediationRequestId!))!;
      const forced = await store().queueRequest({ ...model, at: at(11), force: true, requestedBy: 'admin' });
      const [later1] = await store().record([withAction('a5', at(12), { fingerprint: 'fp-l5', grace: '5' })]);
      const [later2] = await store().record([withAction('a6', at(13), { fingerprint: 'fp-l6', grace: '6' })]);
      const skip = (limit: number, holder = 'h') => store().skipAlike(holder, {
        like: like.remediationRequestId!, now: at(20), limit,
        audit: audit({ outcome: 'skipped', reason: 'cooldown', at: at(20), actor: holder, message: 'cooldown until later' }),
      });
      assert.deepEqual(await skip(2, 'someone-else'), [], 'only the holder of the claim it is alike may share its skip');
      const first = await skip(2);
      assert.deepEqual(first.map((x) => [x.requestId, x.groupId]), [[alike.remediationRequestId, alike.groupId], [later1.remediationRequestId, later1.groupId]],
        'the oldest alike first, at most the limit');
      assert.deepEqual((await skip(2)).map((x) => x.requestId), [later2.remediationRequestId]);
      assert.deepEqual(await skip(2), [], 'each decided once');
      const history = await store().listHistory({ page: 1, pageSize: 10 });
      assert.deepEqual(history.entries.map((e) => [e.requestId, e.groupId, e.outcome, e.reason]).sort((a, b) => Number(a[0]) - Number(b[0])),
        [alike, later1, later2].map((r) => [r.remediationRequestId, r.groupId, 'skipped', 'cooldown']));
      const state = async (id: number) => { const r = (await store().getRequest(id))!; return [r.state, r.attempts]; };
      assert.deepEqual(await state(alike.remediationRequestId!), ['done', 1]);
      assert.deepEqual(await state(like.remediationRequestId!), ['claimed', 1], 'the request it is alike is its own decision');
      assert.deepEqual(await state(tried.remediationRequestId!), ['pending', 1], 'tried before: it may have an open intent');
      assert.deepEqual(await state(otherPod.remediationRequestId!), ['pending', 0], 'another pod');
      assert.deepEqual(await state(forced), ['pending', 0], 'queued by a human');
      assert.deepEqual(await state(intended.remediationRequestId!), ['pending', 0], 'handed back (not an attempt), with an open intent');
    });

    it('claims a batch in one call: the oldest due requests, each to one claimer only', async () => {
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) ids.push((await store().record([withAction(`k${i}`, T0 + i, { fingerprint: `fp-b${i}`, pod: `web-${i}` })]))[0].remediationRequestId!);
      const a = await store().claimRequests('a', T0 + 10, 10_000, 3);
      assert.deepEqual(a.map((r) => [r.id, r.state, r.claimedBy, r.attempts]), ids.slice(0, 3).map((id) => [id, 'claimed', 'a', 1]));
      const b = await store().claimRequests('b', T0 + 10, 10_000, 3);
      assert.deepEqual(b.map((r) => r.id), ids.slice(3), 'the rest, none of a\'s');
      assert.deepEqual(await store().claimRequests('c', T0 + 10, 10_000, 3), [], 'nothing left to claim');
      const again = await store().claimRequests('c', T0 + 10_011, 10_000, 256);
      assert.deepEqual(again.map((r) => [r.id, r.attempts]), ids.map((id) => [id, 2]), 'expired claims, oldest first');
    });

    it('claims in creation order across pending and expired claims, past an older request still backing off', async () => {
      const ids: number[] = [];
      for (let i = 0; i < 4; i++) ids.push((await store().record([withAction(`k${i}`, T0 + i, { fingerprint: `fp-o${i}`, pod: `web-${i}` })]))[0].remediationRequestId!);
      // ids[0] backs off until T0 + HOUR; ids[1] is claimed by a leader whose claim runs out at T0 + 10 s.
      const a = await store().claimRequest('h', T0 + 10, 10_000);
      await store().finishRequest(a!.id, 'h', { state: 'pending', nextAttemptAt: T0 + HOUR, error: 'conflict' });
      const b = await store().claimRequest('old-leader', T0 + 10, 10_000);
      assert.deepEqual([a?.id, b?.id], [ids[0], ids[1]]);
      const now = T0 + MINUTE;
      const order = [];
      for (let c = await store().claimRequest('new', now, 10_000); c; c = await store().claimRequest('new', now, 10_000)) order.push(c.id);
      assert.deepEqual(order, [ids[1], ids[2], ids[3]], 'the expired claim first (oldest), the backing-off request skipped');
      assert.equal((await store().claimRequest('new', T0 + HOUR, 10_000))?.id, ids[0], 'due again after its backoff');
    });

    it('finishing as pending retries after nextAttemptAt; escalated is final and counted', async () => {
      await store().record([withAction('k1', T0)]);
      const a = await store().claimRequest('h', T0, 10_000);
      assert.equal(await store().finishRequest(a!.id, 'h', { state: 'pending', nextAttemptAt: T0 + MINUTE, error: 'conflict' }), true);
      assert.equal(await store().claimRequest('h', T0 + MINUTE - 1, 10_000), null);
      const b = await store().claimRequest('h', T0 + MINUTE, 10_000);
      assert.deepEqual([b?.id, b?.attempts, b?.lastError], [a!.id, 2, 'conflict']);
      assert.equal((await store().stats(T0 + MINUTE)).remediation.pending, 1, 'a claimed request is still outstanding');
      assert.equal(await store().finishRequest(b!.id, 'h', { state: 'escalated', error: 'too many attempts' }), true);
      assert.equal(await store().claimRequest('h', T0 + HOUR, 10_000), null);
      assert.deepEqual((await store().stats(T0 + MINUTE)).remediation, { pending: 0, actedLastHour: 0, escalated: 1 });
    });
  });

  describe('audit and history', () => {
    it('lists newest first with filters, pagination and totals; the group shows its last outcome', async () => {
      const [r] = await store().record([withAction('k1', T0)]);
      const ids = [];
      ids.push(await store().appendAudit(audit({ outcome: 'skipped', at: T0 + 1, groupId: r.groupId })));
      ids.push(await store().appendAudit(audit({ outcome: 'acted', at: T0 + 2, groupId: r.groupId, requestId: r.remediationRequestId })));
      ids.push(await store().appendAudit(audit({ outcome: 'failed', at: T0 + 3, namespace: 'billing', rule: 'oom', reason: 'api-error' })));
      const all = await store().listHistory({ page: 1, pageSize: 10 });
      assert.equal(all.total, 3);
      assert.deepEqual(all.entries.map((e) => e.id), [...ids].reverse());
      assert.deepEqual(all.entries[1], {
        id: ids[1], requestId: r.remediationRequestId, groupId: r.groupId, at: new Date(T0 + 2).toISOString(),
        rule: 'crashloop-backoff', action: 'restart-pod', namespace: 'shop', target: 'Pod/web-1', outcome: 'acted',
        reason: 'ok', message: 'm', actor: 'leader-1',
      });
      const filtered = async (q: object) => (await store().listHistory({ page: 1, pageSize: 10, ...q })).entries.map((e) => e.id);
      assert.deepEqual(await filtered({ outcome: 'skipped' }), [ids[0]]);
      assert.deepEqual(await filtered({ reason: 'api-error' }), [ids[2]]);
      assert.deepEqual(await filtered({ namespace: 'shop' }), [ids[1], ids[0]]);
      assert.deepEqual(await filtered({ rule: 'oom' }), [ids[2]]);
      assert.deepEqual(await filtered({ groupId: r.groupId }), [ids[1], ids[0]]);
      const page2 = await store().listHistory({ page: 2, pageSize: 2 });
      assert.deepEqual([page2.entries.map((e) => e.id), page2.total], [[ids[0]], 3]);
      assert.deepEqual(await store().listHistory({ outcome: 'escalated', page: 1, pageSize: 10 }), { entries: [], total: 0 });

      const g = await store().getGroup(r.groupId);
      assert.deepEqual(g?.remediation, { action: 'restart-pod', lastOutcome: 'acted' });
      assert.deepEqual(g?.remediations.map((e) => e.id), [ids[1], ids[0]]);
    });

    it('answers cooldown, budget and attempt queries from the audit trail', async () => {
      const key = 'crashloop-backoff|restart-pod|shop/Deployment/web';
      const other = 'oom|restart-pod|shop/Deployment/api';
      const history = (cooldownKey: string, includeDryRun: boolean, actedSince: number, attemptsSince: number) =>
        store().guardHistory({ cooldownKey, includeDryRun, actedSince, attemptsSince });
      assert.deepEqual(await history(key, true, T0, T0), { lastActionAt: null, actedLastHour: 0, attempts: 0 });
      await store().appendAudit(audit({ outcome: 'acted', at: T0 }));
      await store().appendAudit(audit({ outcome: 'dry-run', at: T0 + 10 }));
      await store().appendAudit(audit({ outcome: 'skipped', at: T0 + 20 }));
      await store().appendAudit(audit({ outcome: 'failed', at: T0 + 30 }));
      await store().appendAudit(audit({ outcome: 'acted', at: T0 + 40, cooldownKey: other }));
      assert.deepEqual(await history(key, false, T0, T0), { lastActionAt: T0, actedLastHour: 2, attempts: 2 }, 'acted + failed');
      assert.deepEqual(await history(key, true, T0 + 1, T0 + 1), { lastActionAt: T0 + 10, actedLastHour: 1, attempts: 1 });
      // The budget counts every key; the windows are independent of each other.
      assert.deepEqual(await history(other, false, T0 + 41, T0), { lastActionAt: T0 + 40, actedLastHour: 0, attempts: 1 });
      assert.equal((await store().stats(T0 + MINUTE)).remediation.actedLastHour, 2);
      assert.equal((await store().stats(T0 + 2 * HOUR)).remediation.actedLastHour, 0);
    });

    it('prune drops old audit rows and finished requests but keeps recent ones', async () => {
      await store().record([withAction('k1', T0, { fingerprint: 'fp-old' })]);
      const req = await store().claimRequest('h', T0, 1000);
      await store().finishRequest(req!.id, 'h', { state: 'done' });
      await store().record([withAction('k2', T0 + 2 * HOUR, { fingerprint: 'fp-new' })]);
      await store().appendAudit(audit({ outcome: 'acted', at: T0 }));
      await store().appendAudit(audit({ outcome: 'acted', at: T0 + 2 * HOUR }));
      assert.equal(await store().prune(T0 + HOUR), 1);
      assert.equal((await store().listHistory({ page: 1, pageSize: 10 })).total, 1);
      const pending = await store().claimRequest('h', T0 + 3 * HOUR, 1000);
      assert.equal(pending?.fingerprint, 'fp-new', 'the recent request survives');
    });
  });

  describe('settings', () => {
    it('are null until written, then round-trip and overwrite', async () => {
      assert.equal(await store().getSettings(), null);
      await store().putSettings({ enabled: true, dryRun: false, maxActionsPerHour: 7 });
      assert.deepEqual(await store().getSettings(), { enabled: true, dryRun: false, maxActionsPerHour: 7, requireApproval: false });
      await store().putSettings({ enabled: false, dryRun: true, maxActionsPerHour: 0, requireApproval: true });
      assert.deepEqual(await store().getSettings(), { enabled: false, dryRun: true, maxActionsPerHour: 0, requireApproval: true });
    });
  });
}
