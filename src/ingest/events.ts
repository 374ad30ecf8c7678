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
export function isOwnEvent(reason: string, component: string, item: Record<string, unknown>): boolean {
  if (reason === OWN_EVENT_REASON || component === OWN_COMPONENT) return true;
  return item.reportingComponent === OWN_COMPONENT || item.reportingController === OWN_COMPONENT;
}

/** Validate one Event object (either API) and convert it; null with issues under `prefix` when invalid,
 * null without issues for Kube Sentinel's own Events (accepted, never recorded). */
export function readEvent(item: unknown, prefix: string, issues: IssueList, now: number, channel: Channel): Signal | null {
  if (!isRecord(item)) {
    issues.add(prefix || 'body', `must be an Event object, got ${typeName(item)}`);
    return null;
  }
  const before = issues.count;
  const kind = readString(item, 'kind', prefix, issues);
  if (kind !== '' && kind !== 'Event') issues.add(fieldPath(prefix, 'kind'), `must be "Event", got ${JSON.stringify(kind.slice(0, 40))}`);

  const metaPath = fieldPath(prefix, 'metadata');
  const meta = readRecord(item, 'metadata', prefix, issues);
  const uid = readString(meta, 'uid', metaPath, issues);
  const name = readString(meta, 'name', metaPath, issues);
  const metaNamespace = readString(meta, 'namespace', metaPath, issues);
  const labels = readStringMap(meta.labels, fieldPath(metaPath, 'labels'), issues, { kind: 'metadata', required: false });

  // events.k8s.io/v1 renamed involvedObject → regarding and message → note.
  const objectKey = item.regarding !== undefined ? 'regarding' : 'involvedObject';
  const objPath = fieldPath(prefix, objectKey);
  const obj = readRecord(item, objectKey, prefix, issues);
  const objKind = readString(obj, 'kind', objPath, issues);
  const objName = readString(obj, 'name', objPath, issues);
  const objNamespace = readString(obj, 'namespace', objPath, issues);
  const objFieldPath = readString(obj, 'fieldPath', objPath, issues);

  const reason = readString(item, 'reason', prefix, issues);
  const type = readString(item, 'type', prefix, issues);
  const text = clampText(readString(item, item.note !== undefined ? 'note' : 'message', prefix, issues));

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

  if (issues.count === before && reason === '' && text === '') issues.add(prefix || 'body', 'an Event needs a reason or a message');
  if (issues.count !== before || labels === null) return null;
  // Our own remediation Events come back through the admission webhook and event exporters; their text
  // ("restarted pod … (CrashLoopBackOff)") matches the rules that caused them. Valid, but never a signal.
  if (isOwnEvent(reason, component, item)) return null;

  // Namespaced objects' Events live in the object's namespace; cluster-scoped objects (Nodes…) have
  // none, and their Event's own namespace ("default") would be misleading.
  const namespace = objNamespace || (objKind === '' || objKind === 'Pod' ? metaNamespace : '');
  const isPod = objKind === 'Pod';
  const owner: WorkloadRef | null = !isPod && objKind !== '' && objName !== '' ? { kind: objKind, name: objName } : null;
  const startsAt = firstSeen ?? now;
  let occurrenceKey: string;
  if (uid !== '') occurrenceKey = `event:${uid}`;
  else if (name !== '') occurrenceKey = `event:${metaNamespace}/${name}`;
  else occurrenceKey = `event:${objKind}/${namespace}/${objName}/${reason}/${startsAt}`;

  const annotations: Record<string, string> = {};
  if (component !== '') annotations.component = component;
  if (host !== '') annotations.host = host;

  return {
    source: 'event',
    channel,
    title: reason || 'Event',
    message: eventMessage(type, reason, text),
    labels,
    annotations,
    namespace,
    pod: isPod ? objName : '',
    container: isPod ? containerFromFieldPath(objFieldPath) : '',
    owner,
    reason,
    eventType: type,
    state: 'firing',
    startsAt,
    endsAt: null,
    occurrenceKey,
    occurrenceCount: Math.max(1, count ?? 1),
    alertFingerprint: null,
    generatorUrl: '',
  };
}
