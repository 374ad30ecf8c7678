// "Dig deeper" commands for an error group. Names come from alert labels and Event payloads, which
// anyone able to reach the ingest endpoint controls, and people paste these into a shell. So a value
// is only ever used when it is a valid Kubernetes name (which needs no quoting); otherwise the
// command is left out and the reason is said.

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const WORKLOAD_KINDS = { Deployment: 'deployment', StatefulSet: 'statefulset', DaemonSet: 'daemonset', ReplicaSet: 'replicaset', Job: 'job', CronJob: 'cronjob' };
const ROLLOUT_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

export function isKubeName(value) {
  return typeof value === 'string' && NAME.test(value);
}

/**
 * @param {{namespace?: string, pod?: string, container?: string, workload?: string}} group
 * @returns {{commands: {label: string, command: string}[], skipped: string[]}}
 */
export function kubectlCommands(group) {
  const commands = [];
  const skipped = [];
  const usable = (what, value) => {
    if (!value) return false;
    if (isKubeName(value)) return true;
    skipped.push(`The ${what} "${value.slice(0, 80)}" is not a valid Kubernetes name, so no command uses it.`);
    return false;
  };
  const hasNs = usable('namespace', group.namespace);
  const ns = hasNs ? `-n ${group.namespace} ` : '';
  const hasPod = usable('pod', group.pod);
  const hasContainer = hasPod && usable('container', group.container);

  if (hasPod) {
    const c = hasContainer ? ` -c ${group.container}` : '';
    commands.push({ label: 'Describe the pod', command: `kubectl ${ns}describe pod ${group.pod}` });
    commands.push({ label: 'Logs of the previous (crashed) container', command: `kubectl ${ns}logs ${group.pod}${c} --previous` });
    commands.push({ label: 'Current logs', command: `kubectl ${ns}logs ${group.pod}${c} --tail=200` });
    commands.push({ label: 'Events for the pod', command: `kubectl ${ns}get events --field-selector involvedObject.name=${group.pod} --sort-by=.lastTimestamp` });
  }

  const slash = typeof group.workload === 'string' ? group.workload.indexOf('/') : -1;
  if (slash > 0) {
    const kind = group.workload.slice(0, slash);
    const name = group.workload.slice(slash + 1);
    const resource = WORKLOAD_KINDS[kind];
    if (resource && usable('workload name', name)) {
      commands.push({ label: `Describe the ${kind}`, command: `kubectl ${ns}describe ${resource}/${name}` });
      if (ROLLOUT_KINDS.has(kind)) {
        commands.push({ label: 'Rollout history', command: `kubectl ${ns}rollout history ${resource}/${name}` });
      }
    }
  }

  if (hasNs) {
    commands.push({ label: 'Recent events in the namespace', command: `kubectl -n ${group.namespace} get events --sort-by=.lastTimestamp` });
    commands.push({ label: 'Pods in the namespace', command: `kubectl -n ${group.namespace} get pods -o wide` });
  } else {
    commands.push({ label: 'Recent warnings in all namespaces', command: 'kubectl get events -A --field-selector type=Warning --sort-by=.lastTimestamp' });
  }
  return { commands, skipped };
}
