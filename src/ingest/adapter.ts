// What one ingest format says about itself, once: src/ingest/formats.ts lists the adapters, and both
// the HTTP routes (src/http/ingest-routes.ts) and format guessing (detect.ts) are built from that list.
import type { Channel } from '../domain/types.ts';
import type { AdmissionParse } from './admission.ts';
import type { ParseResult } from './common.ts';

interface IngestRoute {
  /** `POST` path, relative to web.base_path. */
  path: string;
  /** The door a signal came in by (metrics label, occurrence detail); one per route. */
  channel: Channel;
}

interface AdapterBase<P extends ParseResult> {
  /** The name `kube-sentinel rules test` reports for a guessed document. */
  format: string;
  /** How the format is named in "is not an alert, … document". */
  noun: string;
  /**
   * Shape only, for guessing when no route says what a document is (the routes never guess; the parse
   * validates). The registry asks adapters in order and the first that says yes wins.
   */
  recognizes(body: unknown): boolean;
  /** Validate and convert; never throws on any JSON value. `channel` is the route's. */
  parse(body: unknown, now: number, channel: Channel): P;
  /** The first route's channel is the one a guessed document is parsed with. */
  routes: readonly IngestRoute[];
}

/** Served on the ingest listener behind an ingest token; answers `{status, accepted, ignored}`. */
export interface TokenAdapter extends AdapterBase<ParseResult> {
  listener: 'ingest';
}

/**
 * Served on the admission listener (web.admission_listen), where the API server calls without a token;
 * answers with an AdmissionReview echoing the request uid.
 */
export interface AdmissionAdapter extends AdapterBase<AdmissionParse> {
  listener: 'admission';
}

export type IngestAdapter = TokenAdapter | AdmissionAdapter;
