// The kube-apiserver calling our ValidatingWebhook on Event writes (admission.k8s.io/v1 AdmissionReview).
// We only watch: the answer is always "allowed", echoing the request uid — the chart registers the
// webhook with `failurePolicy: Ignore`, and a monitor must never block the cluster's own bookkeeping.
// `request.object` is an Event in either API, read by events.ts. `dryRun` requests must record nothing
// (the webhook declares `sideEffects: NoneOnDryRun`); the caller checks `dryRun`.
import type { ErrorDetail } from '../domain/errors.ts';
import type { Signal } from '../domain/types.ts';
import type { AdmissionAdapter } from './adapter.ts';
import { IssueList, isRecord, readString } from './common.ts';
import { readEvent } from './events.ts';

export interface AdmissionParse {
  /** request.uid, to be echoed; null when the review has none (then it is not a usable review). */
  uid: string | null;
  dryRun: boolean;
  /** CREATE, UPDATE, DELETE or CONNECT ('' when absent). */
  operation: string;
  signals: Signal[];
  issues: ErrorDetail[];
  /** 1 when the review carried an object to read, else 0. */
  total: number;
}

/**
 * Added to every signal that came through admission. Without a client certificate nothing proves the
 * caller is the API server, so what such a signal creates is shown as admission-sourced (the label
 * appears in the API's `labels` and on the dashboard); remediation still re-reads the live objects.
 */
const ADMISSION_MARK = { name: 'kube-sentinel.io/via', value: 'admission' } as const;

/** Operations that write the object we are shown; DELETE's `object` is null and CONNECT has none. */
const WRITES = new Set(['CREATE', 'UPDATE']);

export function parseAdmissionReview(body: unknown, now: number): AdmissionParse {
  const issues = new IssueList();
  const request = isRecord(body) ? body.request : undefined;
  if (!isRecord(body) || !isRecord(request)) {
    issues.add('body', 'must be an AdmissionReview with a "request" object');
    return { uid: null, dryRun: false, operation: '', signals: [], issues: issues.toArray(), total: 0 };
  }
  const kind = readString(body, 'kind', '', issues);
  if (kind !== '' && kind !== 'AdmissionReview') issues.add('kind', 'must be "AdmissionReview"');
  const uidValue = readString(request, 'uid', 'request', issues);
  if (uidValue === '') issues.add('request.uid', 'is required');
  const uid = uidValue === '' ? null : uidValue;
  const operation = readString(request, 'operation', 'request', issues);
  const dryRun = request.dryRun === true;

  const object = request.object;
  if (!WRITES.has(operation) || object === undefined || object === null) {
    return { uid, dryRun, operation, signals: [], issues: issues.toArray(), total: 0 };
  }
  const signal = readEvent(object, 'request.object', issues, now, 'admission');
  const marked = signal === null ? [] : [{ ...signal, labels: { ...signal.labels, [ADMISSION_MARK.name]: ADMISSION_MARK.value } }];
  return { uid, dryRun, operation, signals: marked, issues: issues.toArray(), total: 1 };
}

export const admissionAdapter = {
  format: 'admission',
  noun: 'AdmissionReview',
  listener: 'admission',
  recognizes: (body) => isRecord(body) && (body.kind === 'AdmissionReview' || (isRecord(body.request) && body.request.uid !== undefined)),
  parse: (body, now) => parseAdmissionReview(body, now),
  routes: [{ path: '/webhooks/admission', channel: 'admission' }],
} as const satisfies AdmissionAdapter;

export interface AdmissionResponseOptions {
  /** Shown to the client that wrote the Event (kubectl prints them); keep them short. */
  warnings?: readonly string[];
}

export interface AdmissionReviewResponse {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: { uid: string; allowed: true; warnings?: string[] };
}

/** The one answer we ever give: allowed, echoing the request's uid. */
export function admissionResponse(uid: string, options: AdmissionResponseOptions = {}): AdmissionReviewResponse {
  const response: AdmissionReviewResponse['response'] = { uid, allowed: true };
  if (options.warnings !== undefined && options.warnings.length > 0) response.warnings = [...options.warnings];
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}
