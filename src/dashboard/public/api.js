// JSON API client. Errors arrive in the server's one envelope and are thrown as ApiError so pages can
// tell "needs a token" (401) from "bad filter" (400) from "server unreachable" (status 0).

export class ApiError extends Error {
  constructor(status, code, message, details = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/**
 * @param {{ base: string, getToken: () => string | null }} opts
 */
export function createApi(opts) {
  async function request(method, path, { query, body, token } = {}) {
    const url = new URL(`${opts.base}${path}`, location.origin);
    for (const [k, v] of new URLSearchParams(query ?? '')) url.searchParams.set(k, v);
    const headers = { accept: 'application/json' };
    const bearer = token ?? opts.getToken();
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res;
    try {
      res = await fetch(url, {
        method, headers, cache: 'no-store', credentials: 'omit',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, 'network', 'The server could not be reached.');
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!res.ok) {
      const e = data?.error ?? {};
      throw new ApiError(res.status, e.code ?? `http_${res.status}`, e.message ?? `${res.status} ${res.statusText}`, e.details ?? []);
    }
    return data;
  }
  return {
    get: (path, query) => request('GET', path, { query }),
    post: (path, body, extra = {}) => request('POST', path, { body, token: extra.token }),
    del: (path, extra = {}) => request('DELETE', path, { token: extra.token }),
  };
}
