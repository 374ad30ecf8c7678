// The one error catalogue: every error the server returns has a code here with its HTTP status.
// src/http/errors.ts is the one place that renders them as {"error": {code, message, details}}.

export const ERROR_CATALOGUE = {
  bad_request: { status: 400, summary: 'The request is malformed.' },
  invalid_json: { status: 400, summary: 'The body is not valid JSON.' },
  invalid_payload: { status: 400, summary: 'The payload can never be valid; see details for each item.' },
  invalid_query: { status: 400, summary: 'A query parameter is invalid.' },
  invalid_settings: { status: 400, summary: 'Unknown or invalid settings key.' },
  invalid_rules: { status: 400, summary: 'The rules document is invalid.' },
  unauthorized: { status: 401, summary: 'Missing or wrong bearer token.' },
  forbidden: { status: 403, summary: 'This token or role may not do that.' },
  read_only_role: { status: 403, summary: 'This replica runs role "dashboard" and accepts no writes.' },
  admin_disabled: { status: 403, summary: 'No admin token is configured, so settings cannot be changed.' },
  not_found: { status: 404, summary: 'No such resource.' },
  method_not_allowed: { status: 405, summary: 'Method not allowed on this route.' },
  not_awaiting_approval: { status: 409, summary: 'The remediation request is not awaiting approval (already decided, expired or never asked).' },
  no_remediation: { status: 409, summary: 'The error group\'s rule has no remediation action to run.' },
  request_timeout: { status: 408, summary: 'The request was not received in time.' },
  payload_too_large: { status: 413, summary: 'The body exceeds web.body_limit.' },
  unsupported_media_type: { status: 415, summary: 'Content-Type must be application/json.' },
  rate_limited: { status: 429, summary: 'Too many requests from this source; retry later.' },
  headers_too_large: { status: 431, summary: 'The request line or headers are too large.' },
  store_unavailable: { status: 503, summary: 'The store could not commit; retry later.' },
  draining: { status: 503, summary: 'The server is shutting down; retry against another replica.' },
  overloaded: { status: 503, summary: 'Too many request bodies in flight; retry shortly.' },
  internal: { status: 500, summary: 'Unexpected server error.' },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface ErrorDetail {
  /** Where: e.g. `alerts[3].labels`, `rules[2].match.pattern`, `body`. */
  path: string;
  message: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetail[];
  constructor(code: ErrorCode, message?: string, details: ErrorDetail[] = []) {
    super(message ?? ERROR_CATALOGUE[code].summary);
    this.name = 'AppError';
    this.code = code;
    this.details = details;
  }
  get status(): number {
    return ERROR_CATALOGUE[this.code].status;
  }
}

/** Thrown by config and rules loading; names the file and the key/rule at fault. */
export class LoadError extends Error {
  readonly file: string;
  readonly details: ErrorDetail[];
  constructor(file: string, details: ErrorDetail[]) {
    super(`${file}: ${details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('; ')}`);
    this.name = 'LoadError';
    this.file = file;
    this.details = details;
  }
}
