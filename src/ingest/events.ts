// Kubernetes Events posted to `/webhooks/events` by event exporters — one Event, an array, or a list
// (`kind: EventList`, or any `{items: [...]}`) — in either API: core/v1 (`involvedObject`, `message`,
// `count`, `firstTimestamp`, `source`) or events.k8s.io/v1 (`regarding`, `note`, `series`,
// `deprecatedCount`, `deprecatedFirstTimestamp`, `reportingController`). The admission adapter reuses
// readEvent for `request.object`.
//
// An Event is one occurrence series of one object: it keeps its uid while kubelet bumps `count` /
// `series.count`, so the uid is the occurrence key and the count is cumulative. Events have no end;
// expiry (src/dedup/expiry.ts) retires them when they stop being updated.
import type { TokenAdapter } from './adapter.ts';
import { OWN_COMPONENT, OWN_EVENT_REASON, type Channel, type Signal, type WorkloadRef } from '../domain/types.ts';
import {
  IssueList, clampText, fieldPath, isRecord, readString, readStringMap, readTime, typeName, type ParseResult,
} from './common.ts';

export function parseEvents(body: unknown, now: number): ParseResult {
  const issues = new IssueList();
  let items: unknown[];
  let prefix: string;
  if (Array.isArray(body)) {
    items = body;
    prefix = '';
  } else if (isRecord(body) && Array.isArray(body.items)) {
    items = body.items;
    prefix = 'items';
  } else if (isRecord(body)) {
    const signal = readEvent(body, '', issues, now, 'events');
    return { signals: signal === null ? [] : [signal], issues: issues.toArray(), total: 1 };
  } else {
    issues.add('body', `must be an Event, an array of Events or an EventList, got ${typeName(body)}`);
    return { signals: [], issues: issues.toArray(), total: 0 };
  }
  const signals: Signal[] = [];
  for (let i = 0; i < items.length; i++) {
    const signal = readEvent(items[i], `${prefix}[${i}]`, issues, now, 'events');
    if (signal !== null) signals.push(signal);
  }
  return { signals, issues: issues.toArray(), total: items.length };
}

export const eventsAdapter = {
  format: 'events',
  noun: 'Event',
  listener: 'ingest',
  // Any object or array: one Event, a list, or an array of Events. Guessed last, after the narrower shapes.
  recognizes: (body) => Array.isArray(body) || isRecord(body),
  parse: (body, now) => parseEvents(body, now),
  routes: [{ path: '/webhooks/events', channel: 'events' }],
} as const satisfies TokenAdapter;

function readRecord(obj: Record<string, unknown>, key: string, prefix: string, issues: IssueList): Record<string, unknown> {
  const value = obj[key];
  if (value === undefined || value === null) return {};
  if (isRecord(value)) return value;
  issues.add(fieldPath(prefix, key), `must be an object, got ${typeName(value)}`);
  return {};
}

/** An optional non-negative count; absent → null. */
function readCount(obj: Record<string, unknown>, key: string, prefix: string, issues: IssueList): number | null {
  const value = obj[key];
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  issues.add(fieldPath(prefix, key), `must be a non-negative integer, got ${JSON.stringify(value).slice(0, 40)}`);
  return null;
}

/** `spec.containers{app}` (also initContainers / ephemeralContainers) → `app`. */
export function containerFromFieldPath(fieldPathValue: string): string {
  const open = fieldPathValue.indexOf('{');
  if (open < 0 || !fieldPathValue.endsWith('}') || !fieldPathValue.slice(0, open).endsWith('ontainers')) return '';
  return fieldPathValue.slice(open + 1, -1);
}

/**
 * The text rules match for an Event, in `kubectl get events` column order:
 *   `<type> <reason>: <message>`     e.g. `Warning BackOff: Back-off restarting failed container app …`
 * dropping whichever of the three is empty (and the colon with them).
 */
export function eventMessage(type: string, reason: string, text: string): string {
  const head = type && reason ? `${type} ${reason}` : type || reason;
  return head && text ? `${head}: ${text}` : head || text;
}

/** An Event Kube Sentinel wrote itself: by its reason or by any of the reporter fields naming it. */
function isOwnEvent(reason: string, component: string, item: Record<string, unknown>): boolean {
  if (reason === OWN_EVENT_REASON || component === OWN_COMPONENT) return true;
  return item.reportingComponent === OWN_COMPONENT || item.reportingController === OWN_COMPONENT;
}

type Read = { item: Record<string, unknown>; prefix: string; issues: IssueList };

/** metadata: uid, name, namespace, labels. */
function readEventMeta({ item, prefix, issues }: Read) {
  const metaPath = fieldPath(prefix, 'metadata');
  const meta = readRecord(item, 'metadata', prefix, issues);
  return {
    meta, metaPath,
    uid: readString(meta, 'uid', metaPath, issues),
    name: readString(meta, 'name', metaPath, issues),
    namespace: readString(meta, 'namespace', metaPath, issues),
    labels: readStringMap(meta.labels, fieldPath(metaPath, 'labels'), issues, { kind: 'metadata', required: false }),
  };
}

/** The object the Event is about: events.k8s.io/v1 renamed involvedObject → regarding. */
function readRegarding({ item, prefix, issues }: Read) {
  const objectKey = item.regarding !== undefined ? 'regarding' : 'involvedObject';
  const objPath = fieldPath(prefix, objectKey);
  const obj = readRecord(item, objectKey, prefix, issues);
  return {
    kind: readString(obj, 'kind', objPath, issues),
    name: readString(obj, 'name', objPath, issues),
    namespace: readString(obj, 'namespace', objPath, issues),
    fieldPath: readString(obj, 'fieldPath', objPath, issues),
  };
}

/** How often and since when, under both APIs' names (series, deprecated* fields), oldest clue first. */
function readEventTimes(r: Read, meta: Record<string, unknown>, metaPath: string) {
  const { item, prefix, issues } = r;
  const seriesPath = fieldPath(prefix, 'series');
  const series = readRecord(item, 'series', prefix, issues);
  const count =
    readCount(series, 'count', seriesPath, issues) ?? readCount(item, 'count', prefix, issues) ?? readCount(item, 'deprecatedCount', prefix, issues);
  const firstSeen =
    readTime(item, 'firstTimestamp', prefix, issues) ??
    readTime(item, 'deprecatedFirstTimestamp', prefix, issues) ??
    readTime(item, 'eventTime', prefix, issues) ??
    readTime(item, 'lastTimestamp', prefix, issues) ??
    readTime(item, 'deprecatedLastTimestamp', prefix, issues) ??
    readTime(meta, 'creationTimestamp', metaPath, issues);
  return { count, firstSeen };
}

/** Who reported it: source / reporting fields (core/v1) or their events.k8s.io/v1 spellings. */
function readReporter({ item, prefix, issues }: Read) {
  const source = readRecord(item, 'source', prefix, issues);
  const deprecatedSource = readRecord(item, 'deprecatedSource', prefix, issues);
  const component =
    readString(source, 'component', fieldPath(prefix, 'source'), issues) ||
    readString(item, 'reportingController', prefix, issues) ||
    readString(item, 'reportingComponent', prefix, issues) ||
    readString(deprecatedSource, 'component', fieldPath(prefix, 'deprecatedSource'), issues);
  const host =
    readString(source, 'host', fieldPath(prefix, 'source'), issues) ||
    readString(deprecatedSource, 'host', fieldPath(prefix, 'deprecatedSource'), issues);
  return { component, host };
}

/** The Event's own uid or name when it has one; otherwise what it says, where and since when. */
function eventOccurrenceKey(uid: string, metaNamespace: string, name: string, what: string): string {
  if (uid !== '') return `event:${uid}`;
  if (name !== '') return `event:${metaNamespace}/${name}`;
  return `event:${what}`;
}

/** A valid Event, read: the Signal it becomes. */
function eventSignal(e: {
  channel: Channel; now: number; m: ReturnType<typeof readEventMeta> & { labels: Record<string, string> };
  obj: ReturnType<typeof readRegarding>; reason: string; type: string; text: string;
  count: number | null; firstSeen: number | null; component: string; host: string;
}): Signal {
  const { m, obj, reason } = e;
  // Namespaced objects' Events live in the object's namespace; cluster-scoped objects (Nodes…) have
  // none, and their Event's own namespace ("default") would be misleading.
  const namespace = obj.namespace || (obj.kind === '' || obj.kind === 'Pod' ? m.namespace : '');
  const isPod = obj.kind === 'Pod';
  const owner: WorkloadRef | null = !isPod && obj.kind !== '' && obj.name !== '' ? { kind: obj.kind, name: obj.name } : null;
  const startsAt = e.firstSeen ?? e.now;
  const annotations: Record<string, string> = {};
  if (e.component !== '') annotations.component = e.component;
  if (e.host !== '') annotations.host = e.host;

  return {
    source: 'event',
    channel: e.channel,
    title: reason || 'Event',
    message: eventMessage(e.type, reason, e.text),
    labels: m.labels,
    annotations,
    namespace,
    pod: isPod ? obj.name : '',
    container: isPod ? containerFromFieldPath(obj.fieldPath) : '',
    owner,
    reason,
    eventType: e.type,
    state: 'firing',
    startsAt,
    endsAt: null,
    occurrenceKey: eventOccurrenceKey(m.uid, m.namespace, m.name, `${obj.kind}/${namespace}/${obj.name}/${reason}/${startsAt}`),
    occurrenceCount: Math.max(1, e.count ?? 1),
    alertFingerprint: null,
    generatorUrl: '',
  };
}

/** Validate one Event object (either API) and convert it; null with issues under `prefix` when invalid,
 * null without issues for Kube Sentinel's own Events (accepted, never recorded). */
export function readEvent(item: unknown, prefix: string, issues: IssueList, now: number, channel: Channel): Signal | null {
  if (!isRecord(item)) {
    issues.add(prefix || 'body', `must be an Event object, got ${typeName(item)}`);
    return null;
  }
  const r: Read = { item, prefix, issues };
  const before = issues.count;
  const kind = readString(item, 'kind', prefix, issues);
  if (kind !== '' && kind !== 'Event') issues.add(fieldPath(prefix, 'kind'), `must be "Event", got ${JSON.stringify(kind.slice(0, 40))}`);
  const m = readEventMeta(r);
  const obj = readRegarding(r);
  const reason = readString(item, 'reason', prefix, issues);
  const type = readString(item, 'type', prefix, issues);
  // events.k8s.io/v1 renamed message → note.
  const text = clampText(readString(item, item.note !== undefined ? 'note' : 'message', prefix, issues));
  const { count, firstSeen } = readEventTimes(r, m.meta, m.metaPath);
  const { component, host } = readReporter(r);

  if (issues.count === before && reason === '' && text === '') issues.add(prefix || 'body', 'an Event needs a reason or a message');
  if (issues.count !== before || m.labels === null) return null;
  // Our own remediation Events come back through the admission webhook and event exporters; their text
  // ("restarted pod … (CrashLoopBackOff)") matches the rules that caused them. Valid, but never a signal.
  if (isOwnEvent(reason, component, item)) return null;

  return eventSignal({ channel, now, m: { ...m, labels: m.labels }, obj, reason, type, text, count, firstSeen, component, host });
}
