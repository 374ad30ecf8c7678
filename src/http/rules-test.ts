// "Try it on a sample": classify a sample against the active rules (or candidate rules sent along).
// Shared by POST /api/rules/test and `kube-sentinel rules test < payload.json`.
import { classify } from '../classify/classify.ts';
import type { CompiledRuleSet } from '../classify/compile.ts';
import { parseRules } from '../classify/load.ts';
import { AppError, LoadError } from '../domain/errors.ts';
import type { Signal } from '../domain/types.ts';
import { detectAndParse } from '../ingest/detect.ts';

type Obj = Record<string, unknown>;

const strMap = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) out[k] = String(x);
  return out;
};

/** A signal from loose fields: what someone types into the dashboard's test box. */
export function sampleSignal(body: Obj, now: number): Signal {
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

export function testRules(body: unknown, active: CompiledRuleSet, now: number) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new AppError('bad_request', 'Send {"message": "...", "labels": {...}} or {"payload": <alerts, webhook, Event or AdmissionReview>}, optionally with "rules": "<rules.yaml text>".');
  }
  const b = body as Obj;
  let rules = active;
  if (b.rules !== undefined) {
    if (typeof b.rules !== 'string') throw new AppError('invalid_rules', '"rules" must be the text of a rules.yaml document.');
    try {
      rules = parseRules(b.rules, 'request.rules');
    } catch (err) {
      if (err instanceof LoadError) throw new AppError('invalid_rules', err.message, err.details);
      throw err;
    }
  }
  let signals: Signal[];
  if (b.payload !== undefined) {
    const parsed = detectAndParse(b.payload, now);
    if (parsed.signals.length === 0) throw new AppError('invalid_payload', 'The payload holds no valid alert or event.', parsed.issues);
    signals = parsed.signals;
  } else if (typeof b.message === 'string') {
    signals = [sampleSignal(b, now)];
  } else {
    throw new AppError('bad_request', 'Give either "message" (text) or "payload" (a sender payload).');
  }
  return {
    results: signals.map((s) => {
      const c = classify(s, rules);
      return { title: s.title, source: s.source, namespace: s.namespace, pod: s.pod, message: s.message,
        priority: c.priority, rule: c.rule, remediation: c.remediation, why: c.reason };
    }),
  };
}
