// Shared setup for action tests: a fake API server, the real gateway over it, and a helper that
// resolves a request's target and plans an action exactly as the worker does.
import { ClientNodeGateway, kubeConfigForUrl } from '../../src/cluster/gateway.ts';
import type { ActionName, WorkloadRef } from '../../src/domain/types.ts';
import { ACTION_REGISTRY, type Plan } from '../../src/remediate/actions/index.ts';
import type { KubeGateway } from '../../src/remediate/kube.ts';
import { resolveTarget } from '../../src/remediate/target.ts';
import { FakeKubeApi, type FakeKubeApiOptions } from '../fakes/kube-api.ts';

export const NOW = Date.parse('2024-05-01T10:00:00Z');

export interface Harness {
  api: FakeKubeApi;
  kube: KubeGateway;
  plan(action: ActionName, req: { namespace?: string; pod?: string; owner?: WorkloadRef | null; params?: Record<string, string>; container?: string; now?: number }): Promise<Plan>;
  close(): Promise<void>;
}

export async function harness(opts: FakeKubeApiOptions = {}): Promise<Harness> {
  const api = new FakeKubeApi({ now: () => NOW, ...opts });
  const kube = new ClientNodeGateway({ kubeConfig: kubeConfigForUrl(await api.start()), timeoutMs: 2000 });
  return {
    api,
    kube,
    async plan(action, req) {
      const r = await resolveTarget(kube, { namespace: req.namespace ?? 'shop', pod: req.pod ?? '', owner: req.owner ?? null });
      if (!r.ok) return { kind: 'skip', reason: r.reason, detail: r.detail };
      return ACTION_REGISTRY[action].plan({ kube, target: r.target, params: req.params ?? {}, container: req.container ?? '', now: req.now ?? NOW });
    },
    close: () => api.stop(),
  };
}

export function expectAct(p: Plan): Extract<Plan, { kind: 'act' }> {
  if (p.kind !== 'act') throw new Error(`expected an action, got skip ${p.reason}: ${p.detail}`);
  return p;
}
