// The one place Kube Sentinel talks to the Kubernetes API (@kubernetes/client-node v2, promise API).
// It implements the remediation port (src/remediate/kube.ts) and makes exactly the calls listed in
// src/cluster/rbac.ts; test/cluster/gateway.test.ts drives every method against the fake API server
// and checks the two agree.
import {
  AppsV1Api, CoordinationV1Api, CoreV1Api, KubeConfig, Observable, PatchStrategy, V1MicroTime, setHeaderOptions,
  ApiException,
} from '@kubernetes/client-node';
import type {
  ConfigurationOptions, CoreV1Event, ObservableMiddleware, RequestContext, ResponseContext, V1DaemonSet, V1Deployment,
  V1Lease, V1StatefulSet,
} from '@kubernetes/client-node';
import { getGlobalDispatcher, type Dispatcher } from 'undici';
import {
  KubeApiError, type CallOptions, type KubeGateway, type LeaseInfo, type LeaseSpec, type NamespaceInfo, type NewEvent,
  type PodInfo, type ReplicaSetInfo, type ScalableKind, type WorkloadInfo, type WorkloadKind,
} from '../remediate/kube.ts';
import { LoadError } from '../domain/errors.ts';
import { OWN_COMPONENT } from '../domain/types.ts';
import { clusterSource, type ClusterChoice } from './connect.ts';
import { toLease, toNamespace, toPod, toReplicaSet, toWorkload } from './convert.ts';

export type { KubeGateway } from '../remediate/kube.ts';

export interface GatewayOptions {
  kubeConfig: KubeConfig;
  /** Upper bound for any single API call; the lease calls may be cut shorter by their caller's signal. */
  timeoutMs?: number;
}

const COMPONENT = OWN_COMPONENT;

const selectorString = (sel: Record<string, string>) => Object.entries(sel).map(([k, v]) => `${k}=${v}`).join(',');

/** Turns any failure of a client-node call into a KubeApiError with the HTTP status (0 = no answer). */
function toKubeApiError(e: unknown): KubeApiError {
  if (e instanceof KubeApiError) return e;
  if (e instanceof ApiException) {
    const body = typeof e.body === 'string' ? safeJson(e.body) : e.body;
    const status = body && typeof body === 'object' ? (body as { reason?: string; message?: string }) : {};
    return new KubeApiError({ status: e.code, reason: status.reason ?? `HTTP${e.code}`, message: status.message ?? e.message });
  }
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const reason = err?.name === 'TimeoutError' || err?.name === 'AbortError' ? 'Timeout' : err?.cause?.code ?? 'NetworkError';
  return new KubeApiError({ status: 0, reason, message: err?.cause?.message ?? err?.message ?? String(e) });
}

function safeJson(s: string): unknown {
  try { return JSON.parse(s); } catch { return null; }
}

/**
 * Bounds one request by a signal and, for a guarded call, runs the guard as the request is written to
 * its connection. ObjectParam APIs accept Observable middleware; client-node 2 sends through undici's
 * fetch with the dispatcher set on the request context, so the guard is an undici interceptor.
 */
function requestMiddleware(signal: AbortSignal, guard?: () => void): ObservableMiddleware {
  return {
    pre: (ctx: RequestContext) => {
      ctx.setSignal(signal);
      if (guard) ctx.setDispatcher((ctx.getDispatcher() ?? getGlobalDispatcher()).compose(checkedAtSend(guard)));
      return new Observable(Promise.resolve(ctx));
    },
    post: (res: ResponseContext) => new Observable(Promise.resolve(res)),
  };
}

/**
 * undici calls a handler's onRequestStart synchronously just before it writes the request to the
 * socket (HTTP/1.1) or opens its stream (HTTP/2), after connecting and the TLS handshake. A guard that
 * throws there aborts the request before any byte of it leaves: a process frozen (SIGSTOP, a long
 * pause) between the caller's own check and the send re-checks when it resumes.
 */
function checkedAtSend(guard: () => void): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => dispatch(opts, new Proxy(handler, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      if (key !== 'onRequestStart') return value.bind(target);
      return (controller: Dispatcher.DispatchController, context: unknown) => {
        value.call(target, controller, context);
        try {
          guard();
        } catch (e) {
          controller.abort(e as Error);
        }
      };
    },
  }));
}

export class ClientNodeGateway implements KubeGateway {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly coord: CoordinationV1Api;
  private readonly timeoutMs: number;

  constructor(opts: GatewayOptions) {
    this.core = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.apps = opts.kubeConfig.makeApiClient(AppsV1Api);
    this.coord = opts.kubeConfig.makeApiClient(CoordinationV1Api);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  private options(call?: CallOptions, guard?: () => void): ConfigurationOptions<ObservableMiddleware> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = call?.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
    return { middleware: [requestMiddleware(signal, guard)], middlewareMergeStrategy: 'append' };
  }

  /**
   * One API call; any failure becomes a KubeApiError, except that a call whose `guard` refused to send
   * it rejects with the guard's own error (nothing reached the API server).
   */
  private async call<T>(fn: (o: ConfigurationOptions<ObservableMiddleware>) => Promise<T>, call?: CallOptions, mergePatch = false): Promise<T> {
    const refusal = { refused: false, error: undefined as unknown };
    const guard = call?.guard;
    const checked = guard && (() => {
      try {
        guard();
      } catch (e) {
        Object.assign(refusal, { refused: true, error: e });
        throw e;
      }
    });
    const o = this.options(call, checked);
    try {
      // client-node picks JSON Patch by default; the documented way to send a merge patch is this header option.
      return await fn(mergePatch ? setHeaderOptions('Content-Type', PatchStrategy.MergePatch, o) : o);
    } catch (e) {
      if (refusal.refused) throw refusal.error;
      throw toKubeApiError(e);
    }
  }

  /** A read where "not found" is an answer, not an error. */
  private async find<T>(fn: (o: ConfigurationOptions<ObservableMiddleware>) => Promise<T>, call?: CallOptions): Promise<T | null> {
    try {
      return await this.call(fn, call);
    } catch (e) {
      if (e instanceof KubeApiError && e.apiStatus === 404) return null;
      throw e;
    }
  }

  async getPod(namespace: string, name: string): Promise<PodInfo | null> {
    const p = await this.find((o) => this.core.readNamespacedPod({ name, namespace }, o));
    return p && toPod(p);
  }

  async listPods(namespace: string, selector: Record<string, string>): Promise<PodInfo[]> {
    const l = await this.call((o) => this.core.listNamespacedPod({ namespace, labelSelector: selectorString(selector) }, o));
    return l.items.map(toPod);
  }

  async deletePod(namespace: string, name: string, opts: { uid: string; resourceVersion: string; gracePeriodSeconds: number }, call?: CallOptions): Promise<void> {
    await this.call((o) => this.core.deleteNamespacedPod({
      name, namespace,
      body: { gracePeriodSeconds: opts.gracePeriodSeconds, preconditions: { uid: opts.uid, resourceVersion: opts.resourceVersion } },
    }, o), call);
  }

  async getNamespace(name: string): Promise<NamespaceInfo | null> {
    const n = await this.find((o) => this.core.readNamespace({ name }, o));
    return n && toNamespace(n);
  }

  async createEvent(namespace: string, e: NewEvent, call?: CallOptions): Promise<void> {
    const at = new Date(e.at);
    const body: CoreV1Event = {
      metadata: { generateName: `${e.involvedObject.name}.`, namespace },
      involvedObject: e.involvedObject,
      reason: e.reason,
      message: e.message,
      type: e.type,
      count: 1,
      firstTimestamp: at,
      lastTimestamp: at,
      source: { component: COMPONENT },
      reportingComponent: COMPONENT,
      reportingInstance: e.reportingInstance,
    };
    await this.call((o) => this.core.createNamespacedEvent({ namespace, body }, o), call);
  }

  async getReplicaSet(namespace: string, name: string): Promise<ReplicaSetInfo | null> {
    const rs = await this.find((o) => this.apps.readNamespacedReplicaSet({ name, namespace }, o));
    return rs && toReplicaSet(rs);
  }

  async listReplicaSets(namespace: string, selector: Record<string, string>): Promise<ReplicaSetInfo[]> {
    const l = await this.call((o) => this.apps.listNamespacedReplicaSet({ namespace, labelSelector: selectorString(selector) }, o));
    return l.items.map(toReplicaSet);
  }

  async getWorkload(kind: WorkloadKind, namespace: string, name: string): Promise<WorkloadInfo | null> {
    const w = await this.find<V1Deployment | V1StatefulSet | V1DaemonSet>((o) =>
      kind === 'Deployment' ? this.apps.readNamespacedDeployment({ name, namespace }, o)
        : kind === 'StatefulSet' ? this.apps.readNamespacedStatefulSet({ name, namespace }, o)
          : this.apps.readNamespacedDaemonSet({ name, namespace }, o));
    return w && toWorkload(kind, w);
  }

  async patchWorkload(kind: ScalableKind, namespace: string, name: string, patch: Record<string, unknown>, call?: CallOptions): Promise<WorkloadInfo> {
    const w = await this.call((o) => kind === 'Deployment'
      ? this.apps.patchNamespacedDeployment({ name, namespace, body: patch }, o)
      : this.apps.patchNamespacedStatefulSet({ name, namespace, body: patch }, o), call, true);
    return toWorkload(kind, w);
  }

  async getLease(namespace: string, name: string, opts?: CallOptions): Promise<LeaseInfo | null> {
    const l = await this.find((o) => this.coord.readNamespacedLease({ name, namespace }, o), opts);
    return l && toLease(l);
  }

  async createLease(namespace: string, name: string, spec: LeaseSpec, opts?: CallOptions): Promise<LeaseInfo> {
    const body = leaseBody(namespace, name, spec, undefined);
    return toLease(await this.call((o) => this.coord.createNamespacedLease({ namespace, body }, o), opts));
  }

  async updateLease(namespace: string, name: string, spec: LeaseSpec, resourceVersion: string, opts?: CallOptions): Promise<LeaseInfo> {
    const body = leaseBody(namespace, name, spec, resourceVersion);
    return toLease(await this.call((o) => this.coord.replaceNamespacedLease({ name, namespace, body }, o), opts));
  }
}

// Lease times are MicroTime: the apiserver rejects RFC 3339 strings without exactly six fractional
// digits, and a plain Date serialises with three. V1MicroTime prints microseconds.
function leaseBody(namespace: string, name: string, spec: LeaseSpec, resourceVersion: string | undefined): V1Lease {
  const micro = (ms: number | null) => (ms === null ? undefined : new V1MicroTime(ms));
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, resourceVersion },
    spec: {
      holderIdentity: spec.holderIdentity,
      leaseDurationSeconds: spec.leaseDurationSeconds,
      acquireTime: micro(spec.acquireTime),
      renewTime: micro(spec.renewTime),
      leaseTransitions: spec.leaseTransitions,
    },
  };
}

export type KubeAccess = { kubeConfig: KubeConfig; timeoutMs?: number } | ClusterChoice;

/**
 * Builds the gateway, or null when there is no cluster to talk to (no in-cluster service account and
 * no kubeconfig): the server then runs remediation in dry-run without verification.
 */
export function createKubeGateway(access: KubeAccess): KubeGateway | null {
  if ('kubeConfig' in access) return new ClientNodeGateway(access);
  const source = clusterSource(access);
  if (!source) return null;
  const kc = new KubeConfig();
  if (source.kind === 'in-cluster') {
    kc.loadFromCluster();
  } else {
    try {
      kc.loadFromFile(source.path);
    } catch (e) {
      throw new LoadError(source.path, [{ path: 'kubernetes.kubeconfig', message: `cannot load kubeconfig: ${(e as Error).message}` }]);
    }
  }
  return new ClientNodeGateway({ kubeConfig: kc, timeoutMs: access.timeoutMs });
}

/** A KubeConfig for a plain-HTTP API endpoint (the fake API server in tests, `kubectl proxy`). */
export function kubeConfigForUrl(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    // client-node refuses plain http unless TLS verification is explicitly off (there is no TLS to verify).
    clusters: [{ name: 'target', server, skipTLSVerify: server.startsWith('http:') }],
    users: [{ name: 'anonymous' }],
    contexts: [{ name: 'target', cluster: 'target', user: 'anonymous' }],
    currentContext: 'target',
  });
  return kc;
}
