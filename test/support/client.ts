// HTTPS client for end-to-end tests: trusts the test CA, speaks JSON, never throws on HTTP status.
import { Agent, request } from 'undici';

export interface Reply {
  status: number;
  body: any;
  text: string;
}

export class TestClient {
  readonly base: string;
  readonly #agent: Agent;
  readonly #token: string | undefined;
  constructor(opts: { base: string; ca: string; token?: string }) {
    this.base = opts.base;
    this.#token = opts.token;
    this.#agent = new Agent({ connect: { ca: opts.ca }, keepAliveTimeout: 10_000 });
  }

  async call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, token = this.#token): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await request(this.base + path, {
      method, headers, dispatcher: this.#agent,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.body.text();
    let parsed: unknown = null;
    try { parsed = text ? JSON.parse(text) : null; } catch { parsed = null; }
    return { status: res.statusCode, body: parsed, text };
  }

  get(path: string, token?: string) { return this.call('GET', path, undefined, token); }
  post(path: string, body: unknown, token?: string) { return this.call('POST', path, body, token); }
  delete(path: string, token?: string) { return this.call('DELETE', path, undefined, token); }
  close() { return this.#agent.close(); }
}
