// rollback: restore the previous revision's pod template on a Deployment, like `kubectl rollout undo`:
// ReplicaSets controlled by the Deployment (by uid) ordered by `deployment.kubernetes.io/revision`,
// the second highest is the previous one, its template minus the `pod-template-hash` label is applied.
// Only when the current revision is really failing, and never on a paused Deployment (kubectl refuses too).
import { templateHash } from '../intent.ts';
import { createMergePatch } from '../merge-patch.ts';
import { podFailure } from '../pod-health.ts';
import type { ReplicaSetInfo } from '../kube.ts';
import { controlledBy, podsOf } from '../target.ts';
import { noParams } from './params.ts';
import { type Action, involved, skip } from './types.ts';

const HASH_LABEL = 'pod-template-hash';

/** The previous revision's template as the Deployment should carry it. */
function templateOf(rs: ReplicaSetInfo): Record<string, unknown> {
  const t = structuredClone(rs.template) as { metadata?: { labels?: Record<string, string> } };
  if (t.metadata?.labels) {
    delete t.metadata.labels[HASH_LABEL];
    if (Object.keys(t.metadata.labels).length === 0) delete t.metadata.labels;
  }
  return t as Record<string, unknown>;
}

export const rollback: Action = {
  name: 'rollback',
  params: noParams('rollback'),
  async plan({ kube, target, container }) {
    const dep = target.workload;
    if (!dep) {
      return !target.replicaSet && !target.otherController && target.pod
        ? skip('no-controller', `pod ${target.pod.meta.name} has no controller to roll back`)
        : skip('unsupported-workload', `${target.display} is not a Deployment`);
    }
    if (dep.kind !== 'Deployment') return skip('unsupported-workload', `${target.display}: only Deployments can be rolled back`);
    if (dep.paused) return skip('deployment-paused', `${target.display} is paused; resume it before rolling back`);
    const ns = dep.meta.namespace;
    const revisions = (await kube.listReplicaSets(ns, dep.selector))
      .filter((rs) => controlledBy(rs.meta, dep.meta.uid) && rs.revision !== null)
      .sort((a, b) => b.revision! - a.revision!);
    const [current, previous] = revisions;
    if (!current || !previous) return skip('no-previous-revision', `${target.display} has no earlier revision to roll back to`);

    // Verify: the CURRENT revision must be the one failing; a failing old pod says nothing about the new template.
    if (target.pod) {
      if (target.replicaSet?.meta.uid !== current.meta.uid) {
        return skip('pod-not-current-revision', `pod ${target.pod.meta.name} belongs to an older revision than ${current.revision}`);
      }
      if (podFailure(target.pod, container) === null) return skip('pod-healthy', `pod ${target.pod.meta.name} is not failing (live status)`);
    } else {
      const failing = (await podsOf(kube, dep)).filter((p) => controlledBy(p.meta, current.meta.uid) && podFailure(p, container) !== null);
      if (failing.length === 0) return skip('workload-healthy', `no pod of revision ${current.revision} of ${target.display} is failing`);
    }

    const patch = createMergePatch(dep.template, templateOf(previous));
    if (patch === undefined) return skip('already-at-previous', `${target.display} already runs the template of revision ${previous.revision}`);
    const from = current.revision;
    const to = previous.revision;
    return {
      kind: 'act',
      summary: `roll back ${target.display} in ${ns} from revision ${from} to revision ${to} (ReplicaSet ${previous.meta.name})`,
      eventOn: involved('Deployment', dep.meta),
      eventType: 'Warning',
      intent: {
        targetKind: 'Deployment', targetName: dep.meta.name, targetUid: dep.meta.uid,
        expect: { kind: 'template', beforeHash: templateHash(dep.template), afterHash: templateHash(templateOf(previous)) },
      },
      async run(writer) {
        await writer.patchWorkload('Deployment', ns, dep.meta.name, {
          metadata: { resourceVersion: dep.meta.resourceVersion },
          spec: { template: patch },
        });
        return `rolled back ${target.display} from revision ${from} to the template of revision ${to}`;
      },
    };
  },
};
