// restart-pod: delete a failing, controlled pod with its own grace period so its controller replaces it.
import { podFailure } from '../pod-health.ts';
import { noParams } from './params.ts';
import { type Action, eventObjectFor, skip } from './types.ts';

export const restartPod: Action = {
  name: 'restart-pod',
  params: noParams('restart-pod'),
  async plan({ target, container }) {
    const pod = target.pod;
    if (!pod) return skip('no-pod', 'the signal names no pod to restart');
    const where = `${pod.meta.namespace}/${pod.meta.name}`;
    if (pod.meta.deletionTimestamp !== null) return skip('pod-terminating', `pod ${where} is already being deleted`);
    // Without a controller nothing would bring the pod back: deleting it would be an outage, not a restart.
    if (!target.workload && !target.replicaSet && !target.otherController) {
      return skip('no-controller', `pod ${where} has no controller; refusing to delete a bare pod`);
    }
    const failure = podFailure(pod, container);
    if (failure === null) return skip('pod-healthy', `pod ${where} is not failing (live status), nothing to restart`);
    const grace = pod.terminationGracePeriodSeconds;
    const eventOn = eventObjectFor(target)!;
    return {
      kind: 'act',
      summary: `delete pod ${where} (${failure}), grace ${grace}s, so ${target.display} replaces it`,
      eventOn,
      eventType: 'Normal',
      intent: { targetKind: 'Pod', targetName: pod.meta.name, targetUid: pod.meta.uid, expect: { kind: 'pod-deleted', podName: pod.meta.name, podUid: pod.meta.uid, workload: target.display } },
      async run(writer) {
        await writer.deletePod(pod.meta.namespace, pod.meta.name, { uid: pod.meta.uid, resourceVersion: pod.meta.resourceVersion, gracePeriodSeconds: grace });
        return `restarted pod ${pod.meta.name} (${failure}); grace period ${grace}s`;
      },
    };
  },
};
