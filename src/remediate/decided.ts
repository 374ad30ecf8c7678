// Decisions that end a request without acting (a skip; a dry-run's "would act") are held and recorded
// together, each request's audit entry and its end in one commit for the whole run of them, instead of
// a commit each on the store's single writer, the one ingest commits on (issue #12: in a storm of new
// crash-looping groups most requests end as `skipped: cooldown`).
//
// Nothing a later decision reads depends on a held skip: the guards count `acted`, `failed` and, in
// dry-run mode, `dry-run` entries, so a dry-run is recorded at once (with whatever is held before it).
// The worker records what is held before any other audit entry of its own, so the audit keeps the
// order of the decisions (a shared cooldown skip's entries excepted: same time, same verdict). A
// leader that loses its term before the commit records nothing: the held requests are still claimed,
// and are handed back undecided (or taken over by the next leader), so each is decided exactly once.
import type { NewAuditEntry, RemediationRequest } from '../store/types.ts';
import type { Logger } from '../domain/ports.ts';
import { NotLeaderError } from '../leader/index.ts';
import { reportDecision, type Decision, type WorkerOptions } from './worker-support.ts';

/** At most this many decisions wait for one commit. */
const MAX_HELD = 64;
/** Requests a shared cooldown skip decides per commit (Store.skipAlike). */
const ALIKE_PER_COMMIT = 512;

export class HeldDecisions {
  private held: Array<{ d: Decision; entry: NewAuditEntry }> = [];
  /** Pods (with their cooldown key) whose alike requests were decided in this claim batch. */
  private readonly alikeDone = new Set<string>();
  /** Per cooldown key: whether its last shared skip in this batch found any request alike. */
  private readonly alikePaid = new Map<string, boolean>();
  private readonly o: Pick<WorkerOptions, 'store' | 'leader' | 'onAudit' | 'metrics'>;
  private readonly log: Logger;

  constructor(o: Pick<WorkerOptions, 'store' | 'leader' | 'onAudit' | 'metrics'>, log: Logger) {
    this.o = o;
    this.log = log;
  }

  /**
   * Holds a decision. A dry-run, a request that had open intents (closed by now, so its decision must
   * not wait) or MAX_HELD reached records everything held. A cooldown skip is then shared with the
   * requests alike it (skipAlike).
   */
  async hold(d: Decision, entry: NewAuditEntry, now: boolean): Promise<void> {
    this.held.push({ d, entry });
    if (now || d.hadIntents || this.held.length >= MAX_HELD) await this.recordWith(d, now);
    if (entry.outcome === 'skipped' && entry.reason === 'cooldown') await this.skipAlike(d, entry);
  }

  /**
   * record(), after `d` was held. Should that commit fail, the decisions stay held for the next one, or
   * are handed back: a failed commit is not this request's failure (it may even have landed, its answer
   * lost), so it does not become a `failed` entry next to its decision.
   */
  private async recordWith(d: Decision, now: boolean): Promise<void> {
    try {
      await this.record();
    } catch (e) {
      if (e instanceof NotLeaderError) throw e;
      if (now || d.hadIntents) {
        // What follows depends on this decision (the cooldown counts a dry-run; retried intents stay
        // open until it commits): it takes the failure path instead, and is not recorded later.
        this.held = this.held.filter((h) => h.d !== d);
        throw e;
      }
      this.log.warn({ err: e, requestId: d.req.id }, 'could not record the held decisions yet; they stay held');
    }
  }

  /**
   * Records everything held in one commit, while this replica still leads (else NotLeaderError, and
   * the decisions stay held for release()). A request whose claim was taken over meanwhile gets
   * nothing written: the decision of the leader that took it over stands.
   */
  async record(): Promise<void> {
    if (this.held.length === 0) return;
    this.o.leader.assertLeading();
    const ids = await this.o.store.finishDecided(this.o.leader.identity, this.held.map(({ d, entry }) => ({ id: d.req.id, audit: entry })));
    const held = this.held;
    this.held = [];
    for (const [i, { d, entry }] of held.entries()) {
      const id = ids[i];
      if (id === null || id === undefined) {
        this.log.warn({ requestId: d.req.id, outcome: entry.outcome, reason: entry.reason }, 'request was no longer claimed by this replica; its decision was not recorded');
      } else {
        reportDecision(this.o, this.log, entry, id);
      }
    }
  }

  /**
   * A cooldown skip holds for every due request alike this one (same rule, action, namespace, pod,
   * container, owner and cooldown, queued by ingest and never tried): the guards would read the same
   * history for each and come to the same verdict. They are decided now, ALIKE_PER_COMMIT to a commit,
   * each audited as its own decision, instead of being claimed and decided one by one. Once per claim
   * batch and pod, and for further pods of a workload only while it pays: after a shared skip that found
   * nothing, the workload's other pods are decided one by one for the rest of the batch (a storm in
   * which no two requests are alike costs one search per batch). Requests queued meanwhile are left to
   * the next batch. (Their entries may come before the held skip of the request they are alike: same
   * time, same verdict.)
   */
  private async skipAlike(d: Decision, entry: NewAuditEntry): Promise<void> {
    // A request a human queued or approved passed guards that an ingest-queued one would not (a suspension).
    if (d.req.force || d.req.approved || d.req.requestedBy !== null) return;
    const pod = `${entry.cooldownKey}|${d.req.pod}|${d.req.container}`;
    if (this.alikeDone.has(pod) || this.alikePaid.get(entry.cooldownKey) === false) return;
    this.alikeDone.add(pod);
    const audit = { ...entry, message: `${entry.message} (decided with request #${d.req.id}, alike it)` };
    let total = 0;
    try {
      for (let more = true; more;) {
        this.o.leader.assertLeading();
        const done = await this.o.store.skipAlike(this.o.leader.identity, { like: d.req.id, now: entry.at, audit, limit: ALIKE_PER_COMMIT });
        for (const x of done) reportDecision(this.o, null, { ...audit, requestId: x.requestId, groupId: x.groupId }, x.auditId);
        total += done.length;
        more = done.length === ALIKE_PER_COMMIT;
      }
    } catch (e) {
      // Not this request's decision: the requests not decided here are claimed and decided one by one.
      if (e instanceof NotLeaderError) throw e;
      this.log.warn({ err: e, requestId: d.req.id }, 'the shared cooldown skip failed; the requests alike it are decided one by one');
    }
    this.alikePaid.set(entry.cooldownKey, total > 0);
    if (total > 0) this.log.info({ requestId: d.req.id, alike: total, target: `${entry.namespace}/${entry.target}` }, `skipped ${total} request(s) alike request #${d.req.id}: cooldown`);
  }

  /** Before the next claim batch and at the end of a pass: what is held is recorded, and a shared cooldown skip may run again for every workload. */
  async nextBatch(): Promise<void> {
    await this.record();
    this.alikeDone.clear();
    this.alikePaid.clear();
  }

  /** The requests decided but not recorded (the term ended first), to hand back undecided. */
  release(): RemediationRequest[] {
    return this.held.splice(0).map(({ d }) => d.req);
  }
}
