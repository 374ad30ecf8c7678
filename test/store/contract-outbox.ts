// Store contract, part 4: the notification outbox (DESIGN §6b). Events commit with the change that
// causes them, planning is all-or-nothing and happens once, deliveries are claimed exclusively and in
// per-receiver order, and only the claim holder finishes one.
import assert from 'node:assert/strict';
import type { NewDelivery, OutboxPlan } from '../../src/store/outbox.ts';
import type { Store } from '../../src/store/types.ts';
import { makeItem, MINUTE, T0 } from './factory.ts';

const firing = (fp: string, key: string, at: number, priority: 'P1' | 'P2' | 'P3' = 'P1') =>
  makeItem({ fingerprint: fp, receivedAt: at, signal: { occurrenceKey: key, state: 'firing', endsAt: null }, classification: { priority } });
const resolved = (fp: string, key: string, at: number) =>
  makeItem({ fingerprint: fp, receivedAt: at, signal: { occurrenceKey: key, state: 'resolved', endsAt: at } });

function delivery(o: Partial<NewDelivery> = {}): NewDelivery {
  return {
    route: 'r', receiver: 'slack', kind: 'firing', groupIds: [], message: { hello: 'world' }, detailed: 1, suppressed: 0,
    createdAt: T0, notBefore: T0, ...o,
  };
}

export function outboxContract(store: () => Store): void {
  describe('notification outbox', () => {
    it('a new group, a priority rise, a resolution and a re-fire each write one event; re-deliveries write none', async () => {
      const [a] = await store().record([firing('fp-o', 'k1', T0, 'P2')]);
      await store().record([firing('fp-o', 'k1', T0 + 1000, 'P2')]); // re-delivery
      await store().record([firing('fp-o', 'k2', T0 + 2000, 'P2')]); // new occurrence, same state
      await store().record([firing('fp-o', 'k3', T0 + 3000, 'P1')]); // priority rise
      await store().record([resolved('fp-o', 'k3', T0 + 4000)]);
      await store().record([resolved('fp-o', 'k3', T0 + 4500)]); // resolved re-delivery
      await store().record([firing('fp-o', 'k4', T0 + 5000, 'P1')]); // fires again
      const events = await store().pendingNotificationEvents(100);
      assert.deepEqual(events.map((e) => [e.groupId, e.kind, e.detail.reason]), [
        [a.groupId, 'firing', 'new'], [a.groupId, 'firing', 'priority-rise'], [a.groupId, 'resolved', 'resolved'],
        [a.groupId, 'firing', 'refire'],
      ]);
      assert.equal(events[1].detail.from, 'P2');
      assert.equal(events[0].at, T0);
    });

    it('a batch of new groups writes one event each, in the order of its groups', async () => {
      // 70 crosses the multi-row chunk sizes (64, 4, 1, 1).
      const items = Array.from({ length: 70 }, (_, n) => firing(`fp-b${String(n).padStart(3, '0')}`, `kb${n}`, T0 + n, 'P2'));
      const results = await store().record(items);
      const events = await store().pendingNotificationEvents(100);
      assert.deepEqual(events.map((e) => [e.groupId, e.kind, e.detail.reason, e.at]),
        results.map((r, n) => [r.groupId, 'firing', 'new', T0 + n]));
      assert.deepEqual(events.map((e) => e.id), [...events.map((e) => e.id)].sort((x, y) => x - y));
    });

    it('expiry resolves with an event; remediation outcomes and escalations write events, skips do not', async () => {
      const [g] = await store().record([makeItem({ fingerprint: 'fp-x', receivedAt: T0, expiresAt: T0 + MINUTE })]);
      assert.equal(await store().expire(T0 + 2 * MINUTE), 1);
      const base = { requestId: null, groupId: g.groupId, rule: 'r', action: 'restart-pod' as const, namespace: 'shop',
        target: 'Deployment/web', reason: '', message: 'restarted', actor: 'me', cooldownKey: 'k' };
      await store().appendAudit({ ...base, at: T0 + 3 * MINUTE, outcome: 'skipped', reason: 'cooldown' });
      await store().appendAudit({ ...base, at: T0 + 4 * MINUTE, outcome: 'acted' });
      await store().appendAudit({ ...base, at: T0 + 5 * MINUTE, outcome: 'escalated' });
      const events = await store().pendingNotificationEvents(100);
      assert.deepEqual(events.map((e) => e.kind), ['firing', 'resolved', 'remediation', 'escalated']);
      assert.equal(events[1].at, T0 + MINUTE, 'resolved at its expiry');
      assert.equal(events[1].detail.reason, 'expired');
      assert.deepEqual([events[2].detail.outcome, events[2].detail.target], ['acted', 'Deployment/web']);
    });

    it('plans once: the events, deliveries and marks commit together; a second plan of the same events is refused', async () => {
      const [a, b] = await store().record([firing('fp-1', 'k', T0), firing('fp-2', 'k', T0)]);
      const events = await store().pendingNotificationEvents(100);
      const plan: OutboxPlan = {
        eventIds: events.map((e) => e.id),
        deliveries: [delivery({ groupIds: [a.groupId, b.groupId], detailed: 2 })],
        marks: [{ receiver: 'slack', groupId: a.groupId, kind: 'firing', priority: 'P1', at: T0, repeatAt: T0 + MINUTE }],
      };
      assert.equal(await store().planNotifications(plan, T0 + 1), true);
      assert.deepEqual(await store().pendingNotificationEvents(100), []);
      assert.equal(await store().planNotifications(plan, T0 + 2), false, 'already planned');
      const { deliveries, total } = await store().listDeliveries({ page: 1, pageSize: 10 });
      assert.equal(total, 1, 'the refused plan wrote no delivery');
      assert.deepEqual(deliveries[0].message, { hello: 'world' });
      assert.deepEqual((await store().listDeliveries({ groupId: b.groupId, page: 1, pageSize: 10 })).total, 1);
      const state = await store().outboxState({ pairs: [{ route: 'r', receiver: 'slack' }], since: T0 - 1, groupIds: [a.groupId, b.groupId] });
      assert.equal(state.detailedSince['r\u0000slack'], 2);
      assert.deepEqual(state.marks.map((m) => [m.receiver, m.groupId, m.kind, m.repeatAt]), [['slack', a.groupId, 'firing', T0 + MINUTE]]);
      assert.deepEqual((await store().groupsByIds([a.groupId, 999999])).map((g) => g.id), [a.groupId]);
    });

    it('a partly planned batch is refused whole', async () => {
      await store().record([firing('fp-1', 'k', T0), firing('fp-2', 'k', T0)]);
      const [e1, e2] = await store().pendingNotificationEvents(100);
      assert.equal(await store().planNotifications({ eventIds: [e1.id], deliveries: [], marks: [] }, T0), true);
      assert.equal(await store().planNotifications({ eventIds: [e1.id, e2.id], deliveries: [delivery()], marks: [] }, T0), false);
      assert.deepEqual((await store().pendingNotificationEvents(100)).map((e) => e.id), [e2.id]);
      assert.equal((await store().listDeliveries({ page: 1, pageSize: 10 })).total, 0);
    });

    it('claims are exclusive, per-receiver FIFO, holder-guarded, and expire for a crashed sender', async () => {
      await store().planNotifications({ eventIds: [], marks: [], deliveries: [
        delivery({ receiver: 'a', message: 1 }), delivery({ receiver: 'a', message: 2 }), delivery({ receiver: 'b', message: 3 }),
      ] }, T0);
      const first = (await store().claimDelivery('h1', T0, MINUTE))!;
      assert.deepEqual([first.receiver, first.message, first.attempts, first.state], ['a', 1, 1, 'sending']);
      const second = (await store().claimDelivery('h1', T0, MINUTE))!;
      assert.equal(second.message, 3, "a's second delivery waits behind its first");
      assert.equal(await store().claimDelivery('h1', T0, MINUTE), null);
      // Retry later: a's queue stays blocked until its head is due again.
      assert.equal(await store().finishDelivery(first.id, 'h2', { state: 'sent', at: T0 }), false, 'not the holder');
      assert.equal(await store().finishDelivery(first.id, 'h1', { state: 'pending', nextAttemptAt: T0 + MINUTE, error: 'http-503' }), true);
      assert.equal(await store().claimDelivery('h1', T0 + 1, MINUTE), null);
      const retried = (await store().claimDelivery('h1', T0 + MINUTE, MINUTE))!;
      assert.deepEqual([retried.id, retried.attempts, retried.lastError], [first.id, 2, 'http-503']);
      // The holder crashes: after the claim expires another sender takes it over, and the old holder cannot finish it.
      const taken = (await store().claimDelivery('h2', T0 + 3 * MINUTE, MINUTE))!;
      assert.equal(taken.id, first.id);
      assert.equal(await store().finishDelivery(first.id, 'h1', { state: 'sent', at: T0 }), false);
      assert.equal(await store().finishDelivery(first.id, 'h2', { state: 'sent', at: T0 + 3 * MINUTE }), true);
      assert.equal(await store().finishDelivery(second.id, 'h1', { state: 'failed', error: 'http-400' }), true);
      const next = (await store().claimDelivery('h2', T0 + 3 * MINUTE, MINUTE))!;
      assert.equal(next.message, 2);
      // A new leader takes over what another holder left mid-send, at once; its own claims stay.
      assert.equal(await store().releaseDeliveryClaims('h2'), 0);
      assert.equal(await store().releaseDeliveryClaims('h3'), 1);
      const again = (await store().claimDelivery('h3', T0 + 3 * MINUTE, MINUTE))!;
      assert.deepEqual([again.id, again.attempts], [next.id, 2]);
      const sent = await store().listDeliveries({ state: 'sent', page: 1, pageSize: 10 });
      assert.deepEqual(sent.deliveries.map((d) => [d.id, d.sentAt, d.attempts]), [[first.id, T0 + 3 * MINUTE, 3]]);
      assert.equal((await store().listDeliveries({ state: 'failed', receiver: 'b', page: 1, pageSize: 10 })).deliveries[0].lastError, 'http-400');
    });

    it('a due reminder queues one repeat event for a still-firing group and is consumed', async () => {
      const [a, b] = await store().record([firing('fp-1', 'k', T0), firing('fp-2', 'k', T0)]);
      await store().record([resolved('fp-2', 'k', T0 + 1)]);
      const events = await store().pendingNotificationEvents(100);
      await store().planNotifications({ eventIds: events.map((e) => e.id), deliveries: [], marks: [
        { receiver: 'x', groupId: a.groupId, kind: 'firing', priority: 'P1', at: T0, repeatAt: T0 + MINUTE },
        { receiver: 'y', groupId: a.groupId, kind: 'firing', priority: 'P1', at: T0, repeatAt: T0 + MINUTE },
        { receiver: 'x', groupId: b.groupId, kind: 'firing', priority: 'P1', at: T0, repeatAt: T0 + MINUTE },
      ] }, T0);
      assert.equal(await store().enqueueRepeats(T0 + 30_000), 0, 'not due yet');
      assert.equal(await store().enqueueRepeats(T0 + MINUTE), 1);
      const repeat = await store().pendingNotificationEvents(100);
      assert.deepEqual(repeat.map((e) => [e.groupId, e.kind, e.detail.reason]), [[a.groupId, 'firing', 'repeat']]);
      assert.equal(await store().enqueueRepeats(T0 + 2 * MINUTE), 0, 'consumed');
    });
  });
}
