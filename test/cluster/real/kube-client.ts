// A small REST client for the test side of the cluster suites: plain HTTP verbs against the real
// apiserver, resources found through discovery, and the apiserver's `Warning` headers kept so a test
// can assert an object was accepted without warnings. (Kube Sentinel itself talks through
// src/cluster/gateway.ts; this client only sets the scene and reads the result.)
import { Agent, request } from 'undici';

export interface KubeResponse {
  status: number;
  body: any;
  warnings: string[];
}

class KubeApiFailure extends Error {
  readonly status: number;
  readonly body: any;
  constructor(status: number, body: any, what: string) {
    super(`${what}: HTTP ${status} ${body?.reason ?? ''} ${body?.message ?? JSON.stringify(body)?.slice(0, 500)}`);
    this.status = status;
    this.body = body;
  }
}

interface ResourceInfo {
  plural: string;
  namespaced: boolean;
}

export class KubeClient {
  readonly url: string;
  private readonly token: string;
  private readonly ca: string;
  private readonly agent: Agent;
  private readonly discovery = new Map<string, Map<string, ResourceInfo>>();

  constructor(opts: { url: string; ca: string; token: string }) {
    this.url = opts.url;
    this.token = opts.token;
    this.ca = opts.ca;
    this.agent = new Agent({ connect: { ca: opts.ca }, keepAliveTimeout: 2_000, headersTimeout: 30_000, bodyTimeout: 30_000 });
  }

  withToken(token: string): KubeClient {
    return new KubeClient({ url: this.url, ca: this.ca, token });
  }

  async request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<KubeResponse> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = contentType;
    const r = await request(`${this.url}${path}`, {
      method: method as any, headers, body: body === undefined ? undefined : JSON.stringify(body), dispatcher: this.agent,
    });
    const text = await r.body.text();
    let parsed: any = text;
    try { parsed = text ? JSON.parse(text) : null; } catch { /* plain text answers (/readyz) */ }
    const w = r.headers.warning;
    const warnings = w === undefined ? [] : (Array.isArray(w) ? w : [w]);
    return { status: r.statusCode, body: parsed, warnings };
  }

  /** The request, which must succeed (2xx); its body. */
  async must(method: string, path: string, body?: unknown, contentType?: string): Promise<any> {
    const r = await this.request(method, path, body, contentType);
    if (r.status < 200 || r.status > 299) throw new KubeApiFailure(r.status, r.body, `${method} ${path}`);
    return r.body;
  }

  get = (path: string) => this.must('GET', path);
  /** null on 404. */
  async find(path: string): Promise<any | null> {
    const r = await this.request('GET', path);
    if (r.status === 404) return null;
    if (r.status !== 200) throw new KubeApiFailure(r.status, r.body, `GET ${path}`);
    return r.body;
  }
  post = (path: string, body: unknown) => this.must('POST', path, body);
  mergePatch = (path: string, patch: unknown) => this.must('PATCH', path, patch, 'application/merge-patch+json');
  del = (path: string, body?: unknown) => this.must('DELETE', path, body);

  /** The REST path of an object (or its collection when `name` is omitted), through discovery. */
  async pathFor(apiVersion: string, kind: string, namespace: string | undefined, name?: string): Promise<string> {
    const info = await this.resource(apiVersion, kind);
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const ns = info.namespaced ? `/namespaces/${namespace ?? 'default'}` : '';
    return `${base}${ns}/${info.plural}${name === undefined ? '' : `/${name}`}`;
  }

  /** Does the server serve this kind (e.g. a CRD's)? */
  async serves(apiVersion: string, kind: string): Promise<boolean> {
    try {
      await this.resource(apiVersion, kind);
      return true;
    } catch {
      return false;
    }
  }

  /** Creates a manifest object; with dryRun the server validates and admits it but stores nothing. */
  async create(obj: any, opts: { dryRun?: boolean; namespace?: string } = {}): Promise<KubeResponse> {
    const path = await this.pathFor(obj.apiVersion, obj.kind, obj.metadata?.namespace ?? opts.namespace);
    return this.request('POST', `${path}${opts.dryRun ? '?dryRun=All&fieldValidation=Strict' : '?fieldValidation=Strict'}`, obj);
  }

  private async resource(apiVersion: string, kind: string): Promise<ResourceInfo> {
    let kinds = this.discovery.get(apiVersion);
    if (!kinds) {
      const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      const list = await this.must('GET', base);
      kinds = new Map();
      for (const r of list.resources as { name: string; kind: string; namespaced: boolean }[]) {
        if (!r.name.includes('/')) kinds.set(r.kind, { plural: r.name, namespaced: r.namespaced });
      }
      this.discovery.set(apiVersion, kinds);
    }
    const info = kinds.get(kind);
    if (!info) throw new Error(`the server does not serve ${apiVersion} ${kind}`);
    return info;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
