// A real HTTP server that speaks enough of the Kubernetes REST API for the gateway and remediation
// tests: pods, namespaces, events, replicasets, deployments, statefulsets, daemonsets and leases.
// It records every request (so tests can count mutating calls), can inject faults (status codes or
// silence) and exposes a small admin API under /__fake/ for tests that run it as a separate process
// (test/fakes/kube-api-server.ts).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ObjectStore, RESOURCE_TYPES, StatusError, applyJsonPatch, applyMergePatch, badRequest, type Obj,
} from './kube-api-objects.ts';

type Verb = 'get' | 'list' | 'create' | 'update' | 'patch' | 'delete';
const MUTATING_VERBS: readonly Verb[] = ['create', 'update', 'patch', 'delete'];

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string;
  body: unknown;
  verb: Verb | null;
  group: string;
  resource: string;
  namespace: string;
  name: string;
  status: number;
}

export interface FaultSpec {
  verb?: Verb;
  resource?: string;
  /** Answer with this status (a Status body), or never answer when `hang` is set. */
  status?: number;
  hang?: boolean;
  /** How many matching requests to affect; unlimited when omitted. */
  times?: number;
  /** Further narrowing, e.g. on the body (in-process use only). */
  match?: (req: RecordedRequest) => boolean;
}

interface Route {
  group: string;
  resource: string;
  namespace: string;
  name: string;
}

const PATCH_TYPES = ['application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/json-patch+json'];

function parsePath(pathname: string): Route | null {
  const p = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  // /api/v1/namespaces[/{name}] and /api/v1/namespaces/{ns}/{resource}[/{name}]
  if (p[0] === 'api' && p[1] === 'v1' && p[2] === 'namespaces') {
    if (p.length <= 4) return { group: '', resource: 'namespaces', namespace: '', name: p[3] ?? '' };
    if (p.length <= 6) return { group: '', resource: p[4], namespace: p[3], name: p[5] ?? '' };
  }
  // /apis/{group}/{version}/namespaces/{ns}/{resource}[/{name}]
  if (p[0] === 'apis' && p[3] === 'namespaces' && p.length >= 6 && p.length <= 7)
    return { group: p[1], resource: p[5], namespace: p[4], name: p[6] ?? '' };
  return null;
}

export interface FakeKubeApiOptions {
  now?: () => number;
  podDeletion?: 'immediate' | 'terminating';
}

export class FakeKubeApi {
  readonly objects: ObjectStore;
  readonly requests: RecordedRequest[] = [];
  private faults: Array<FaultSpec & { used: number }> = [];
  private readonly server: http.Server;
  private readonly hanging = new Set<http.ServerResponse>();
  private active = 0;
  /** Runs before each API request is handled: tests use it to race a concurrent writer. */
  beforeHandle: ((req: RecordedRequest) => void) | null = null;

  constructor(opts: FakeKubeApiOptions = {}) {
    this.objects = new ObjectStore({ now: opts.now ?? Date.now, podDeletion: opts.podDeletion ?? 'immediate' });
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, host, resolve));
    return this.url;
  }

  get url(): string {
    const a = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${a.port}`;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Requests being handled right now (hung ones excluded): lets fake clocks wait for I/O. */
  get inflight(): number {
    return this.active;
  }

  /** Requests deliberately left unanswered by a `hang` fault. */
  get hangingCount(): number {
    return this.hanging.size;
  }

  fail(spec: FaultSpec): void {
    this.faults.push({ ...spec, used: 0 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Recorded requests that changed (or tried to change) state. */
  mutations(): RecordedRequest[] {
    return this.requests.filter((r) => r.verb !== null && MUTATING_VERBS.includes(r.verb));
  }

  private takeFault(r: RecordedRequest): FaultSpec | null {
    const f = this.faults.find((x) =>
      (x.verb === undefined || x.verb === r.verb) && (x.resource === undefined || x.resource === r.resource) &&
      (x.match === undefined || x.match(r)) && (x.times === undefined || x.used < x.times));
    if (!f) return null;
    f.used++;
    return f;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.active++;
    try {
      await this.serve(req, res);
    } finally {
      this.active--;
    }
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const contentType = String(req.headers['content-type'] ?? '').split(';')[0].trim();
    let body: unknown = raw;
    try { body = raw ? JSON.parse(raw) : undefined; } catch { /* kept raw: the handler rejects it */ }
    if (url.pathname.startsWith('/__fake/')) return this.admin(req.method ?? 'GET', url.pathname, body, res);

    const route = parsePath(url.pathname);
    const method = req.method ?? 'GET';
    const verb: Verb | null = !route ? null
      : method === 'GET' ? (route.name ? 'get' : 'list')
        : method === 'POST' ? 'create' : method === 'PUT' ? 'update' : method === 'PATCH' ? 'patch'
          : method === 'DELETE' ? 'delete' : null;
    const rec: RecordedRequest = {
      method, path: url.pathname, query: Object.fromEntries(url.searchParams), contentType, body, verb,
      group: route?.group ?? '', resource: route?.resource ?? '', namespace: route?.namespace ?? '', name: route?.name ?? '', status: 0,
    };
    this.requests.push(rec);

    const fault = this.takeFault(rec);
    if (fault?.hang) {
      this.hanging.add(res);
      return;
    }
    let status = 200;
    let out: Obj;
    try {
      if (fault) throw new StatusError(fault.status ?? 500, fault.status === 429 ? 'TooManyRequests' : 'InternalError', `injected fault ${fault.status ?? 500}`);
      this.beforeHandle?.(rec);
      [status, out] = this.dispatch(rec, route, raw);
    } catch (e) {
      const err = e instanceof StatusError ? e : new StatusError(500, 'InternalError', String(e));
      status = err.code;
      out = err.toStatus();
    }
    rec.status = status;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(out));
  }

  private dispatch(rec: RecordedRequest, route: Route | null, raw: string): [number, Obj] {
    const type = route ? RESOURCE_TYPES[route.resource] : undefined;
    if (!route || !type || type.group !== route.group || !rec.verb)
      throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    const { resource, namespace, name } = route;
    const objects = this.objects;
    const jsonBody = (): Obj => {
      if (rec.contentType !== 'application/json' && rec.verb !== 'delete')
        throw new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`);
      if (raw === '') return {};
      if (typeof rec.body !== 'object' || rec.body === null) throw badRequest('the body of the request could not be decoded as JSON');
      return rec.body as Obj;
    };
    switch (rec.verb) {
      case 'get':
        return [200, objects.get(resource, namespace, name)];
      case 'list': {
        const items = objects.list(resource, namespace || null, rec.query.labelSelector ?? '');
        return [200, { kind: `${type.kind}List`, apiVersion: type.group ? `${type.group}/${type.version}` : type.version, metadata: {}, items }];
      }
      case 'create':
        return [201, objects.create(resource, namespace, jsonBody())];
      case 'update':
        return [200, objects.update(resource, namespace, name, jsonBody())];
      case 'patch': {
        if (!PATCH_TYPES.includes(rec.contentType))
          throw new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}, application/apply-patch+yaml`);
        if (typeof rec.body !== 'object' || rec.body === null) throw badRequest('the body of the request could not be decoded as JSON');
        const patch = rec.body;
        // Strategic merge patch differs from RFC 7386 only for keyed lists, which our code never sends.
        return [200, objects.patch(resource, namespace, name, (cur) =>
          rec.contentType === 'application/json-patch+json' ? applyJsonPatch(cur, patch) : applyMergePatch(cur, patch) as Obj)];
      }
      case 'delete': {
        const opts: Obj = raw && typeof rec.body === 'object' && rec.body !== null ? { ...(rec.body as Obj) } : {};
        if (rec.query.gracePeriodSeconds !== undefined) opts.gracePeriodSeconds = Number(rec.query.gracePeriodSeconds);
        return [200, objects.delete(resource, namespace, name, opts)];
      }
    }
    throw new StatusError(405, 'MethodNotAllowed', 'method not allowed');
  }

  private admin(method: string, path: string, body: unknown, res: http.ServerResponse): void {
    const send = (status: number, data: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(data));
    };
    try {
      if (method === 'GET' && path === '/__fake/requests') return send(200, this.requests);
      if (method === 'GET' && path === '/__fake/objects') return send(200, this.objects.dump());
      if (method === 'GET' && path === '/__fake/deletions') return send(200, this.objects.deletions);
      if (method === 'POST' && path === '/__fake/objects') {
        const list = Array.isArray(body) ? body : [body];
        return send(201, list.map((o) => this.objects.seed(o as Obj)));
      }
      if (method === 'POST' && path === '/__fake/faults') {
        this.fail(body as FaultSpec);
        return send(201, { ok: true });
      }
      if (method === 'DELETE' && path === '/__fake/faults') {
        this.clearFaults();
        return send(200, { ok: true });
      }
      if (method === 'POST' && path === '/__fake/reset') {
        this.objects.clear();
        this.requests.length = 0;
        this.clearFaults();
        return send(200, { ok: true });
      }
      send(404, { error: 'unknown admin route' });
    } catch (e) {
      send(e instanceof StatusError ? e.code : 400, { error: String(e instanceof Error ? e.message : e) });
    }
  }
}
