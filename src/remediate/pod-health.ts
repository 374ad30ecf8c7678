// Is this pod actually failing? A pure reading of the live pod status, so a forged or stale signal
// about a healthy pod never leads to an action.
import type { PodInfo } from './kube.ts';

/** Waiting reasons that mean the container cannot run, as the kubelet reports them. */
const FAILING_WAITING_REASONS = [
  'CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'ErrImageNeverPull', 'InvalidImageName',
  'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError', 'PreStartHookError', 'PostStartHookError',
] as const;

/**
 * Why the pod is failing, or null when it is not. With `container`, only that container is judged
 * (when the pod has it); the pod phase counts either way.
 */
export function podFailure(pod: PodInfo, container = ''): string | null {
  if (pod.phase === 'Failed') return 'pod phase is Failed';
  const named = pod.containers.filter((c) => c.name === container);
  const judged = named.length > 0 ? named : pod.containers;
  for (const c of judged) {
    if (c.waiting && (FAILING_WAITING_REASONS as readonly string[]).includes(c.waiting)) return `container ${c.name}: ${c.waiting}`;
  }
  for (const c of judged) {
    // Restarted and not (yet) ready again: crashing, even between back-off windows.
    if (!c.init && !c.ready && c.restartCount > 0) {
      return `container ${c.name}: not ready after ${c.restartCount} restart(s)${c.lastTerminated ? `, last exit ${c.lastTerminated}` : ''}`;
    }
  }
  return null;
}
