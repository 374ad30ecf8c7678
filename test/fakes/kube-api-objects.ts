// The in-memory object store behind the fake Kubernetes API server (test/fakes/kube-api.ts), with the
// parts of apiserver semantics our code depends on: resourceVersion bumps on every write, optimistic
// concurrency (stale resourceVersion → 409), delete preconditions, graceful pod deletion, label
// selectors, RFC 7386 merge patches and MicroTime validation of Lease times.

export type Obj = Record<string, any>;

export interface ResourceType {
  group: string; // '' = core
  version: string;
  kind: string;
  namespaced: boolean;
}

export const RESOURCE_TYPES: Record<string, ResourceType> = {
  pods: { group: '', version: 'v1', kind: 'Pod', namespaced: true },
  namespaces: { group: '', version: 'v1', kind: 'Namespace', namespaced: false },
  events: { group: '', version: 'v1', kind: 'Event', namespaced: true },
  replicasets: { group: 'apps', version: 'v1', kind: 'ReplicaSet', namespaced: true },
  deployments: { group: 'apps', version: 'v1', kind: 'Deployment', namespaced: true },
  statefulsets: { group: 'apps', version: 'v1', kind: 'StatefulSet', namespaced: true },
  daemonsets: { group: 'apps', version: 'v1', kind: 'DaemonSet', namespaced: true },
  leases: { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', namespaced: true },
};

const resourceForKind = (kind: string): string | null =>
  Object.entries(RESOURCE_TYPES).find(([, t]) => t.kind === kind)?.[0] ?? null;

/** An API failure rendered as a metav1.Status by the server. */
export class StatusError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(code: number, reason: string, message: string) {
    super(message);
    this.code = code;
    this.reason = reason;
  }
  toStatus(): Obj {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, code: this.code };
  }
}

const qualified = (resource: string) => {
  const g = RESOURCE_TYPES[resource]?.group;
  return g ? `${resource}.${g}` : resource;
};
const notFound = (resource: string, name: string) =>
  new StatusError(404, 'NotFound', `${qualified(resource)} "${name}" not found`);
const conflict = (resource: string, name: string, why: string) =>
  new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(resource)} "${name}": ${why}`);
export const badRequest = (message: string) => new StatusError(400, 'BadRequest', message);

// metav1.MicroTime decodes with time.Parse(RFC3339Micro): exactly six fractional digits.
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

function validateLease(obj: Obj): void {
  for (const field of ['acquireTime', 'renewTime']) {
    const v = obj.spec?.[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' || !MICRO_TIME.test(v)) {
      throw badRequest(`Lease in version "v1" cannot be handled as a Lease: parsing time ${JSON.stringify(v)} ` +
        `as "2006-01-02T15:04:05.000000Z07:00": cannot parse as RFC3339 with microseconds (spec.${field})`);
    }
  }
}

/** RFC 7386: objects merge recursively, null deletes, everything else (arrays too) replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Obj = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Obj) } : {};
  for (const [k, v] of Object.entries(patch as Obj)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902 subset (add, replace, remove, test) — enough to honour the content type honestly. */
export function applyJsonPatch(target: Obj, ops: unknown): Obj {
  if (!Array.isArray(ops)) throw badRequest('json patch must be an array of operations');
  const doc = structuredClone(target);
  for (const op of ops as Obj[]) {
    const parts = String(op.path ?? '').split('/').slice(1).map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = parts.pop();
    if (last === undefined) throw badRequest(`json patch: invalid path ${op.path}`);
    let parent: any = doc;
    for (const p of parts) {
      parent = parent?.[p];
      if (parent === undefined) throw badRequest(`json patch: path ${op.path} does not exist`);
    }
    if (op.op === 'test') {
      if (JSON.stringify(parent[last]) !== JSON.stringify(op.value)) throw new StatusError(422, 'Invalid', `json patch test failed at ${op.path}`);
    } else if (op.op === 'remove') {
      if (!(last in parent)) throw badRequest(`json patch: path ${op.path} does not exist`);
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (op.op === 'add' || op.op === 'replace') {
      if (Array.isArray(parent) && op.op === 'add') parent.splice(last === '-' ? parent.length : Number(last), 0, op.value);
      else parent[last] = op.value;
    } else {
      throw badRequest(`json patch: unsupported op ${op.op}`);
    }
  }
  return doc;
}

type Term = { key: string; op: '=' | '!=' | 'exists' | '!exists'; value: string };

function parseLabelSelector(sel: string): Term[] {
  if (!sel.trim()) return [];
  return sel.split(',').map((raw) => {
    const s = raw.trim();
    const m = /^([A-Za-z0-9./_-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)$/.exec(s);
    if (m) return { key: m[1], op: m[2] === '!=' ? '!=' : '=', value: m[3] } as Term;
    if (/^![A-Za-z0-9./_-]+$/.test(s)) return { key: s.slice(1), op: '!exists', value: '' } as Term;
    if (/^[A-Za-z0-9./_-]+$/.test(s)) return { key: s, op: 'exists', value: '' } as Term;
    throw badRequest(`unable to parse requirement: ${JSON.stringify(s)}`);
  });
}

function matchesSelector(labels: Record<string, string> | undefined, terms: Term[]): boolean {
  const l = labels ?? {};
  return terms.every((t) =>
    t.op === '=' ? l[t.key] === t.value
      : t.op === '!=' ? l[t.key] !== t.value
        : t.op === 'exists' ? t.key in l : !(t.key in l));
}

export interface DeleteRecord {
  resource: string;
  namespace: string;
  name: string;
  gracePeriodSeconds: number | null;
  removed: boolean;
}

export interface ObjectStoreOptions {
  now: () => number;
  /** Graceful pod deletion: 'immediate' acts like a fast kubelet, 'terminating' leaves the pod Terminating. */
  podDeletion: 'immediate' | 'terminating';
}

export class ObjectStore {
  private readonly objects = new Map<string, Obj>();
  private revision = 1000;
  private uidCounter = 0;
  private nameCounter = 0;
  readonly deletions: DeleteRecord[] = [];
  private readonly opts: ObjectStoreOptions;

  constructor(opts: ObjectStoreOptions) {
    this.opts = opts;
  }

  private key(resource: string, namespace: string, name: string): string {
    return `${resource}/${RESOURCE_TYPES[resource].namespaced ? namespace : ''}/${name}`;
  }

  private stamp(resource: string, obj: Obj): Obj {
    const t = RESOURCE_TYPES[resource];
    obj.apiVersion = t.group ? `${t.group}/${t.version}` : t.version;
    obj.kind = t.kind;
    obj.metadata.resourceVersion = String(++this.revision);
    return obj;
  }

  get(resource: string, namespace: string, name: string): Obj {
    const o = this.objects.get(this.key(resource, namespace, name));
    if (!o) throw notFound(resource, name);
    return structuredClone(o);
  }

  find(resource: string, namespace: string, name: string): Obj | null {
    const o = this.objects.get(this.key(resource, namespace, name));
    return o ? structuredClone(o) : null;
  }

  list(resource: string, namespace: string | null, selector = ''): Obj[] {
    const terms = parseLabelSelector(selector);
    return [...this.objects.values()]
      .filter((o) => o.kind === RESOURCE_TYPES[resource].kind)
      .filter((o) => namespace === null || !RESOURCE_TYPES[resource].namespaced || o.metadata.namespace === namespace)
      .filter((o) => matchesSelector(o.metadata.labels, terms))
      .map((o) => structuredClone(o));
  }

  create(resource: string, namespace: string, body: Obj): Obj {
    const obj = structuredClone(body);
    obj.metadata ??= {};
    const meta = obj.metadata;
    if (RESOURCE_TYPES[resource].namespaced) {
      if (meta.namespace && meta.namespace !== namespace)
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      meta.namespace = namespace;
    }
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${(++this.nameCounter).toString(36).padStart(5, '0')}`;
    if (!meta.name) throw new StatusError(422, 'Invalid', `${RESOURCE_TYPES[resource].kind} is invalid: metadata.name: Required value`);
    if (this.objects.has(this.key(resource, namespace, meta.name)))
      throw new StatusError(409, 'AlreadyExists', `${qualified(resource)} "${meta.name}" already exists`);
    if (resource === 'leases') validateLease(obj);
    meta.uid ??= `uid-${(++this.uidCounter).toString().padStart(6, '0')}`;
    meta.creationTimestamp ??= new Date(this.opts.now()).toISOString().replace(/\.\d+Z$/, 'Z');
    if (resource !== 'pods' && obj.spec) meta.generation ??= 1;
    delete meta.resourceVersion;
    this.stamp(resource, obj);
    this.objects.set(this.key(resource, namespace, meta.name), obj);
    return structuredClone(obj);
  }

  /** Test seeding: create, keeping the given uid/labels/owners; resource from `kind`. */
  seed(obj: Obj): Obj {
    const resource = resourceForKind(obj.kind);
    if (!resource) throw new Error(`fake kube-api: unknown kind ${obj.kind}`);
    return this.create(resource, obj.metadata?.namespace ?? '', obj);
  }

  update(resource: string, namespace: string, name: string, body: Obj): Obj {
    const cur = this.get(resource, namespace, name);
    const rv = body.metadata?.resourceVersion;
    if (rv && rv !== cur.metadata.resourceVersion)
      throw conflict(resource, name, 'the object has been modified; please apply your changes to the latest version and try again');
    if (body.metadata?.name && body.metadata.name !== name)
      throw badRequest('the name of the object does not match the name on the URL');
    return this.write(resource, cur, { ...structuredClone(body), metadata: { ...structuredClone(body.metadata ?? {}) } });
  }

  /** Applies a patch function to the stored object; a resourceVersion the patch sets must still match. */
  patch(resource: string, namespace: string, name: string, apply: (cur: Obj) => Obj): Obj {
    const cur = this.get(resource, namespace, name);
    const next = apply(structuredClone(cur));
    const rv = next.metadata?.resourceVersion;
    if (rv && rv !== cur.metadata.resourceVersion)
      throw conflict(resource, name, 'the object has been modified; please apply your changes to the latest version and try again');
    return this.write(resource, cur, next);
  }

  private write(resource: string, cur: Obj, next: Obj): Obj {
    next.metadata ??= {};
    // Immutable identity fields always come from the stored object, as in the real apiserver.
    for (const f of ['name', 'namespace', 'uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds'])
      if (cur.metadata[f] !== undefined) next.metadata[f] = cur.metadata[f];
    if (resource === 'leases') validateLease(next);
    if (cur.metadata.generation !== undefined)
      next.metadata.generation = JSON.stringify(next.spec) === JSON.stringify(cur.spec) ? cur.metadata.generation : cur.metadata.generation + 1;
    this.stamp(resource, next);
    this.objects.set(this.key(resource, cur.metadata.namespace ?? '', cur.metadata.name), next);
    return structuredClone(next);
  }

  delete(resource: string, namespace: string, name: string, options: Obj): Obj {
    const cur = this.get(resource, namespace, name);
    const pre = options.preconditions ?? {};
    if (pre.uid && pre.uid !== cur.metadata.uid)
      throw conflict(resource, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`);
    if (pre.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion)
      throw conflict(resource, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`);
    const grace: number | null = typeof options.gracePeriodSeconds === 'number' ? options.gracePeriodSeconds : null;
    const effectiveGrace = resource === 'pods' ? (grace ?? cur.spec?.terminationGracePeriodSeconds ?? 30) : 0;
    const hasFinalizers = (cur.metadata.finalizers ?? []).length > 0;
    const keep = hasFinalizers || (resource === 'pods' && effectiveGrace > 0 && this.opts.podDeletion === 'terminating');
    this.deletions.push({ resource, namespace, name, gracePeriodSeconds: grace, removed: !keep });
    const k = this.key(resource, namespace, name);
    if (!keep) {
      this.objects.delete(k);
      return cur;
    }
    // The apiserver sets deletionTimestamp to "now + grace": the moment the object should be gone.
    if (!cur.metadata.deletionTimestamp || effectiveGrace < (cur.metadata.deletionGracePeriodSeconds ?? Infinity)) {
      cur.metadata.deletionTimestamp = new Date(this.opts.now() + effectiveGrace * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
      cur.metadata.deletionGracePeriodSeconds = effectiveGrace;
    }
    this.stamp(resource, cur);
    this.objects.set(k, cur);
    return structuredClone(cur);
  }

  dump(): Obj[] {
    return [...this.objects.values()].map((o) => structuredClone(o));
  }

  clear(): void {
    this.objects.clear();
    this.deletions.length = 0;
  }
}
