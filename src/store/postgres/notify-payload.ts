// What the store announces on commit (NOTIFY) and what other replicas' subscribers receive: changed
// group ids (live feed), whether a remediation request was queued (leader wake-up), audit entries and
// settings (feed messages). Payloads are sent inside the writing transaction, so they are delivered
// only if and when it commits.
import { AUDIT_OUTCOMES } from '../types.ts';
import type { AuditEntry, Settings, StoreChange } from '../types.ts';
import { literal } from './sanitize.ts';
import type { StoreLogger, Tx } from './session.ts';

export const NOTIFY_CHANNEL = 'kube_sentinel_changes';

// PostgreSQL refuses payloads of 8000 bytes or more; ids are at most 16 digits plus a comma.
const IDS_PER_MESSAGE = 400;
const MAX_PAYLOAD = 7900;

interface Wire {
  /** Origin: the store instance that wrote, so it can skip its own echo. */
  o: string;
  g: number[];
  r?: boolean;
  a?: AuditEntry;
  s?: Settings;
}

/** One or more payloads: large id lists are split; flags and documents ride on the first. */
export function encodeChange(origin: string, change: StoreChange): string[] {
  const out: string[] = [];
  const chunks: number[][] = [];
  for (let i = 0; i < change.groupIds.length; i += IDS_PER_MESSAGE) chunks.push(change.groupIds.slice(i, i + IDS_PER_MESSAGE));
  if (chunks.length === 0) chunks.push([]);
  chunks.forEach((g, i) => {
    const wire: Wire = { o: origin, g };
    if (i === 0 && change.remediationQueued) wire.r = true;
    if (i === 0 && change.settings) wire.s = change.settings;
    out.push(JSON.stringify(wire));
  });
  for (const entry of change.audit ?? []) out.push(auditPayload(origin, entry));
  return out;
}

/** Queues the change on the transaction; PostgreSQL delivers it at commit, or never on rollback. */
export async function notify(tx: Tx, origin: string, change: StoreChange): Promise<void> {
  await tx.query('SELECT count(pg_notify($1, p)) FROM unnest($2::text[]) AS p', [NOTIFY_CHANNEL, encodeChange(origin, change)]);
}

/**
 * The same, sent in the round trip of the transaction's COMMIT (one round trip fewer per batch) when
 * the transaction runner supports it; otherwise as its own statement.
 */
export async function notifyAtCommit(tx: Tx, origin: string, change: StoreChange): Promise<void> {
  if (!tx.atCommit) return notify(tx, origin, change);
  const channel = literal(NOTIFY_CHANNEL);
  for (const payload of encodeChange(origin, change)) tx.atCommit.push(`SELECT pg_notify(${channel}, ${literal(payload)})`);
}

/** An audit entry's free text is shortened until the payload fits; the ids still reach the reader. */
function auditPayload(origin: string, entry: AuditEntry): string {
  let a = entry;
  for (const limit of [2000, 500, 100, 0]) {
    const payload = JSON.stringify({ o: origin, g: [], a } satisfies Wire);
    if (Buffer.byteLength(payload) <= MAX_PAYLOAD) return payload;
    const cut = (s: string) => (s.length > limit ? `${s.slice(0, limit)}…` : s);
    a = { ...entry, message: cut(entry.message), target: cut(entry.target), reason: cut(entry.reason), rule: cut(entry.rule) };
  }
  return JSON.stringify({ o: origin, g: [] } satisfies Wire);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function auditOf(v: unknown): AuditEntry | undefined {
  if (!isObject(v) || !Number.isSafeInteger(v.id) || typeof v.at !== 'string') return undefined;
  if (!(AUDIT_OUTCOMES as readonly unknown[]).includes(v.outcome)) return undefined;
  for (const k of ['rule', 'action', 'namespace', 'target', 'reason', 'message', 'actor']) {
    if (typeof v[k] !== 'string') return undefined;
  }
  return v as unknown as AuditEntry;
}

function settingsOf(v: unknown): Settings | undefined {
  if (!isObject(v) || typeof v.enabled !== 'boolean' || typeof v.dryRun !== 'boolean') return undefined;
  if (!Number.isSafeInteger(v.maxActionsPerHour)) return undefined;
  return {
    enabled: v.enabled, dryRun: v.dryRun, maxActionsPerHour: v.maxActionsPerHour as number,
    ...(typeof v.requireApproval === 'boolean' ? { requireApproval: v.requireApproval } : {}),
  };
}

/**
 * Any client allowed on the database could NOTIFY on the channel: parse defensively and drop what is
 * malformed instead of throwing on the listener connection.
 */
export function decodeChange(payload: string | undefined): { origin: string; change: StoreChange } | null {
  if (!payload) return null;
  let w: unknown;
  try {
    w = JSON.parse(payload);
  } catch {
    return null;
  }
  if (!isObject(w) || typeof w.o !== 'string' || !Array.isArray(w.g)) return null;
  const change: StoreChange = {
    groupIds: w.g.filter((id): id is number => Number.isSafeInteger(id) && (id as number) > 0),
    remediationQueued: w.r === true,
  };
  const audit = auditOf(w.a);
  if (audit) change.audit = [audit];
  const settings = settingsOf(w.s);
  if (settings) change.settings = settings;
  return { origin: w.o, change };
}

/** Hands a change to every subscriber; one that throws is logged and does not stop the others. */
export function emitChange(listeners: Iterable<(change: StoreChange) => void>, change: StoreChange, logger: StoreLogger | undefined): void {
  for (const fn of listeners) {
    try {
      fn(change);
    } catch (err) {
      logger?.warn({ err: (err as Error).message }, 'postgres: change subscriber failed');
    }
  }
}
