// Message normalisation for grouping: the parts of a log line or event message that change between
// repeats of one problem (timestamps, request ids, addresses, counters, the pod's own name) become
// placeholders, so "the same error" hashes the same.
//
// The text is attacker-controlled, so every pattern here is linear-time on V8's backtracking engine:
// no nested unbounded quantifiers, every repeated group has a fixed upper bound, and an unbounded run
// is only followed by a check that fails at one place (a word boundary), never by more pattern that
// could re-split the run. Input is cut to MAX_NORMALIZED_INPUT first, which also bounds the work.
// The /g patterns are shared module constants; that is safe because they are only ever used with
// String#replace, which starts from index 0 and ignores leftover lastIndex state.

/** Only the head of a message is normalised: long texts differ in their tails, not their identity. */
export const MAX_NORMALIZED_INPUT = 4096;

const PLACEHOLDERS = {
  timestamp: '<ts>',
  uuid: '<uuid>',
  hex: '<hex>',
  ip: '<ip>',
  number: '<num>',
  pod: '<pod>',
} as const;

// ISO 8601 / RFC 3339 and Go's log format (2006/01/02 15:04:05), date alone or with time of day.
const ISO_TIMESTAMP = /\b\d{4}[-/]\d{2}[-/]\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d{1,9})?(?:[Zz]|[+-]\d{2}:?\d{2})?)?/g;
// Apache/nginx common log format: 10/Oct/2000:13:55:36 -0700
const CLF_TIMESTAMP = /\b\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2}(?: [+-]\d{4})?/g;
// syslog: "Oct 11 22:14:15"; klog header: "I1011 22:14:15.123456".
const SYSLOG_TIMESTAMP = /\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}\d{1,2} \d{2}:\d{2}:\d{2}\b/g;
const KLOG_TIMESTAMP = /\b[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d{6}\b/g;
const TIME_OF_DAY = /\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d{1,9})?\b/g;
const UUID = /\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b/g;
// Loose IPv6 candidates (bounded: at most 8 groups of at most 4 hex digits, an optional dotted IPv4
// tail and zone); looksLikeIpv6 decides, because `a:b:c` alone is not an address. The bare form must
// not touch a longer token: no word character before or after, and no further `:group` after.
const IPV6_BRACKETED =
  /\[(?:[0-9a-fA-F]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F]{0,4})(?:%[0-9A-Za-z]{1,16})?\](?::\d{1,5})?/g;
const IPV6_BARE =
  /(?<![\w:.])(?:[0-9a-fA-F]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F]{0,4})(?:%[0-9A-Za-z]{1,16})?(?![\w]|:[0-9a-fA-F:])/g;
const IPV4 = /\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b/g;
// 0x-prefixed, or a run of 12+ hex digits (container ids, digests, trace ids) — checked to contain a
// digit so that words made of a–f ("deadbeefface…") survive.
const HEX = /\b(?:0[xX][0-9a-fA-F]+|[0-9a-fA-F]{12,})\b/g;
// Six digits or more: request ids, epoch seconds, byte counts. Shorter numbers (exit codes, ports,
// HTTP statuses, retry counts) usually carry meaning and stay.
const LONG_NUMBER = /\d{6,}/g;
const HAS_DIGIT = /\d/;
const HAS_HEX_DIGIT = /[0-9a-fA-F]/;
const ALL_DIGITS = /^\d+$/;

function ipv6OrSelf(candidate: string): string {
  // The greedy groups swallow the colon of "fe80::1: connection refused"; give it back.
  if (candidate.endsWith(':') && !candidate.endsWith('::')) {
    return looksLikeIpv6(candidate.slice(0, -1)) ? PLACEHOLDERS.ip + ':' : candidate;
  }
  return looksLikeIpv6(candidate) ? PLACEHOLDERS.ip : candidate;
}

/** A real address either compresses (`::`, once) or spells all eight groups, and has a hex digit. */
function looksLikeIpv6(candidate: string): boolean {
  let text = candidate.startsWith('[') ? candidate.slice(1, candidate.lastIndexOf(']')) : candidate;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  if (text.endsWith(':') && !text.endsWith('::')) return false;
  if (text.includes(':::')) return false;
  const compressed = text.indexOf('::');
  if (compressed !== text.lastIndexOf('::')) return false;
  if (!HAS_HEX_DIGIT.test(text)) return false;
  if (compressed >= 0) return true;
  const groups = text.split(':');
  const dottedTail = groups[groups.length - 1].includes('.');
  return groups.length === (dottedTail ? 7 : 8) && groups.every((g) => g.length > 0);
}

function ipv4OrSelf(candidate: string): string {
  const colon = candidate.indexOf(':');
  const address = colon < 0 ? candidate : candidate.slice(0, colon);
  for (const octet of address.split('.')) {
    if (Number(octet) > 255) return candidate;
  }
  return PLACEHOLDERS.ip;
}

function hexOrSelf(candidate: string): string {
  if (candidate.length > 1 && (candidate[1] === 'x' || candidate[1] === 'X')) return PLACEHOLDERS.hex;
  if (ALL_DIGITS.test(candidate)) return PLACEHOLDERS.number;
  return HAS_DIGIT.test(candidate) ? PLACEHOLDERS.hex : candidate;
}

/** Replace `pod` where it stands as a whole name: not inside a longer name (`web-1` in `web-10`), but
 *  still in kubelet's `pod_namespace(uid)` and DNS `pod.service` spellings. */
function replacePodName(text: string, pod: string): string {
  if (pod.length < 2) return text;
  let out = '';
  let from = 0;
  let at = text.indexOf(pod);
  while (at >= 0) {
    const end = at + pod.length;
    if (!isNameChar(text.charCodeAt(at - 1)) && !isNameChar(text.charCodeAt(end))) {
      out += text.slice(from, at) + PLACEHOLDERS.pod;
      from = end;
      at = text.indexOf(pod, end);
    } else {
      at = text.indexOf(pod, at + 1);
    }
  }
  return from === 0 ? text : out + text.slice(from);
}

/** Characters that continue a pod name: [a-z0-9-] and, leniently, upper case (NaN, off either end, does not). */
function isNameChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d;
}

function truncate(text: string): string {
  if (text.length <= MAX_NORMALIZED_INPUT) return text;
  // Do not leave half of a surrogate pair at the cut.
  const code = text.charCodeAt(MAX_NORMALIZED_INPUT - 1);
  const end = code >= 0xd800 && code <= 0xdbff ? MAX_NORMALIZED_INPUT - 1 : MAX_NORMALIZED_INPUT;
  return text.slice(0, end);
}

/**
 * Normalise `text` for grouping. `pod` (the signal's own pod name, '' if unknown) becomes `<pod>` so
 * that the same error from sibling pods of one workload groups together. Order matters: timestamps
 * contain numbers and colons, UUIDs contain hex runs, IPv6 contains both.
 */
export function normalizeMessage(text: string, pod = ''): string {
  let s = replacePodName(truncate(text), pod);
  s = s.replace(ISO_TIMESTAMP, PLACEHOLDERS.timestamp);
  s = s.replace(CLF_TIMESTAMP, PLACEHOLDERS.timestamp);
  s = s.replace(SYSLOG_TIMESTAMP, PLACEHOLDERS.timestamp);
  s = s.replace(KLOG_TIMESTAMP, PLACEHOLDERS.timestamp);
  s = s.replace(UUID, PLACEHOLDERS.uuid);
  if (s.includes(':')) {
    s = s.replace(IPV6_BRACKETED, ipv6OrSelf);
    s = s.replace(IPV6_BARE, ipv6OrSelf);
  }
  s = s.replace(TIME_OF_DAY, PLACEHOLDERS.timestamp);
  s = s.replace(IPV4, ipv4OrSelf);
  s = s.replace(HEX, hexOrSelf);
  return s.replace(LONG_NUMBER, PLACEHOLDERS.number);
}
