// Guessing the format of a JSON document, for `kube-sentinel rules test < payload.json` and
// POST /api/rules/test, where no route says what it is. The HTTP routes never guess: each calls its
// own adapter. Both come from the one registry in formats.ts.
import { typeName, type ParseResult } from './common.ts';
import { INGEST_ADAPTERS, type PayloadFormat } from './formats.ts';

export {  type PayloadFormat } from './formats.ts';

export interface DetectedPayload extends ParseResult {
  /** null when the document matches no format (there is then one issue at `body`). */
  format: PayloadFormat | null;
}

function adapterFor(body: unknown) {
  return INGEST_ADAPTERS.find((a) => a.recognizes(body));
}

/** What a document looks like: the shape, not a full validation (the adapter does that). */
export function detectFormat(body: unknown): PayloadFormat | null {
  return adapterFor(body)?.format ?? null;
}

const NOUNS = INGEST_ADAPTERS.map((a) => a.noun);
const ANY_FORMAT = `${NOUNS.slice(0, -1).join(', ')} or ${NOUNS.at(-1)}`;

export function detectAndParse(body: unknown, now: number): DetectedPayload {
  const adapter = adapterFor(body);
  if (adapter === undefined) {
    return { format: null, signals: [], issues: [{ path: 'body', message: `is not ${ANY_FORMAT} document (got ${typeName(body)})` }], total: 0 };
  }
  // Only the common result: the admission route's extras (uid, dryRun) mean nothing to a test run.
  const { signals, issues, total } = adapter.parse(body, now, adapter.routes[0].channel);
  return { format: adapter.format, signals, issues, total };
}
