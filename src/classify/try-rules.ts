// "Try it on a sample": classify a sample against the active rules (or candidate rules sent along).
// Shared by the edges POST /api/rules/test and `kube-sentinel rules test < payload.json`; each edge
// passes the ingest parser for sender payloads (classify never imports ingest) and maps the AppErrors
// (the one catalogue in domain/errors.ts) to its own form: an HTTP envelope, or one line and exit 2.
import { isSeq, parseDocument } from 'yaml';
import { AppError, LoadError, type ErrorDetail } from '../domain/errors.ts';
import type { Signal } from '../domain/types.ts';
import { classify } from './classify.ts';
import type { CompiledRuleSet } from './compile.ts';
import { parseRules } from './load.ts';

/** Turns a sender payload (alerts, webhook, Event or AdmissionReview) into signals: ingest's detectAndParse. */
export type PayloadParser = (payload: unknown, now: number) => { signals: Signal[]; issues: ErrorDetail[] };

type Obj = Record<string, unknown>;

/**
 * One request may not buy unbounded CPU on the event loop (every other request, /healthz included,
 * waits behind it). Classification is rules × signals regex scans, and compiling candidate rules costs
 * per rule, so all three are capped; at the caps a request takes well under a second.
 */
export const RULES_TEST_LIMITS = {
  maxRulesBytes: 128 * 1024,
  maxRules: 100,
  maxSignals: 100,
  /** rules × signals */
  maxEvaluations: 2_000,
  /** Wall-clock budget for classification; past it the request is refused rather than finished. */
  budgetMs: 1_000,
} as const;

/** Candidate rules: size and count checked before anything is compiled; any YAML failure is a 400. */
function candidateRules(text: string): CompiledRuleSet {
  const L = RULES_TEST_LIMITS;
  if (Buffer.byteLength(text) > L.maxRulesBytes) {
    throw new AppError('invalid_rules', `"rules" is larger than ${L.maxRulesBytes / 1024} KiB.`);
  }
  try {
    const rules = parseDocument(text, { prettyErrors: false }).get('rules');
    if (isSeq(rules) && rules.items.length > L.maxRules) {
      throw new AppError('invalid_rules', `At most ${L.maxRules} candidate rules per request (got ${rules.items.length}).`);
    }
    return parseRules(text, 'request.rules');
  } catch (err) {
    if (err instanceof AppError) throw err;
    if (err instanceof LoadError) throw new AppError('invalid_rules', err.message, err.details);
    // e.g. the yaml library refusing an alias bomb ("Excessive alias count"): still the sender's document.
    throw new AppError('invalid_rules', `The rules document cannot be loaded: ${(err as Error).message}`.slice(0, 500));
  }
}

const strMap = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) out[k] = String(x);
  return out;
};

/** A signal from loose fields: what someone types into the dashboard's test box. */
function sampleSignal(body: Obj, now: number): Signal {
  const source = body.source === 'event' ? 'event' : 'alert';
  const message = String(body.message ?? '');
  const labels = strMap(body.labels);
  return {
    source, channel: source === 'event' ? 'events' : 'alerts-v2',
    title: String(body.reason ?? labels.alertname ?? 'sample'), message, labels, annotations: {},
    namespace: String(body.namespace ?? labels.namespace ?? ''), pod: String(body.pod ?? labels.pod ?? ''),
    container: String(labels.container ?? ''), owner: null, reason: String(body.reason ?? ''),
    eventType: source === 'event' ? String(body.type ?? 'Warning') : '', state: 'firing', startsAt: now, endsAt: null,
    occurrenceKey: `sample:${now}`, occurrenceCount: 1, alertFingerprint: null, generatorUrl: '',
  };
}

export function testRules(body: unknown, active: CompiledRuleSet, now: number, parsePayload: PayloadParser) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new AppError('bad_request', 'Send {"message": "...", "labels": {...}} or {"payload": <alerts, webhook, Event or AdmissionReview>}, optionally with "rules": "<rules.yaml text>".');
  }
  const b = body as Obj;
  let rules = active;
  if (b.rules !== undefined) {
    if (typeof b.rules !== 'string') throw new AppError('invalid_rules', '"rules" must be the text of a rules.yaml document.');
    rules = candidateRules(b.rules);
  }
  let signals: Signal[];
  if (b.payload !== undefined) {
    const parsed = parsePayload(b.payload, now);
    if (parsed.signals.length === 0) throw new AppError('invalid_payload', 'The payload holds no valid alert or event.', parsed.issues);
    signals = parsed.signals;
  } else if (typeof b.message === 'string') {
    signals = [sampleSignal(b, now)];
  } else {
    throw new AppError('bad_request', 'Give either "message" (text) or "payload" (a sender payload).');
  }
  const L = RULES_TEST_LIMITS;
  if (signals.length > L.maxSignals) {
    throw new AppError('bad_request', `At most ${L.maxSignals} alerts or events per test (got ${signals.length}).`);
  }
  if (signals.length * Math.max(1, rules.rules.length) > L.maxEvaluations) {
    throw new AppError('bad_request',
      `${rules.rules.length} rules × ${signals.length} signals is more than ${L.maxEvaluations} evaluations per test; send fewer.`);
  }
  const deadline = performance.now() + L.budgetMs;
  return {
    results: signals.map((s) => {
      if (performance.now() > deadline) {
        throw new AppError('bad_request', `Classifying took longer than ${L.budgetMs} ms; send fewer rules or smaller signals.`);
      }
      const c = classify(s, rules);
      return { title: s.title, source: s.source, namespace: s.namespace, pod: s.pod, message: s.message,
        priority: c.priority, rule: c.rule, remediation: c.remediation, why: c.reason };
    }),
  };
}
