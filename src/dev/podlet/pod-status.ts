import type { V1ContainerStatus, V1Pod, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';

/** The pod conditions the kubelet owns; others (PodScheduled, DisruptionTarget, …) are kept as they are. */
const OWN_CONDITIONS = new Set(['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready']);

export interface PodState {
  readonly hostIP: string;
  readonly podIP: string | null;
  readonly startTime: Date;
  readonly sandboxReady: boolean;
  readonly initDone: boolean;
  readonly phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  readonly initContainerStatuses: V1ContainerStatus[];
  readonly containerStatuses: V1ContainerStatus[];
  readonly reason?: string;
  readonly message?: string;
}

/**
 * The pod's status as a kubelet writes it. Condition transition times are carried over from the
 * stored pod when the status of a condition did not change.
 */
export function podStatus(pod: V1Pod, s: PodState): V1PodStatus {
  const now = new Date();
  const previous = new Map((pod.status?.conditions ?? []).map((c) => [c.type, c]));
  const condition = (type: string, ok: boolean, reason?: string): V1PodCondition => {
    const status = ok ? 'True' : 'False';
    const before = previous.get(type);
    return {
      type,
      status,
      lastProbeTime: null as unknown as undefined,
      lastTransitionTime: before && before.status === status ? before.lastTransitionTime : now,
      ...(reason && !ok ? { reason } : {}),
    };
  };
  const containersReady = s.containerStatuses.length > 0 && s.containerStatuses.every((c) => c.ready);
  const notReady = s.phase === 'Succeeded' || s.phase === 'Failed' ? 'PodCompleted' : 'ContainersNotReady';
  const conditions = [
    ...(pod.status?.conditions ?? []).filter((c) => !OWN_CONDITIONS.has(c.type)),
    condition('PodReadyToStartContainers', s.sandboxReady),
    condition('Initialized', s.initDone, 'ContainersNotInitialized'),
    condition('ContainersReady', containersReady && s.phase === 'Running', notReady),
    condition('Ready', containersReady && s.phase === 'Running', notReady),
  ];
  const status: V1PodStatus = {
    phase: s.phase,
    conditions,
    hostIP: s.hostIP,
    hostIPs: [{ ip: s.hostIP }],
    startTime: s.startTime,
    qosClass: pod.status?.qosClass,
    containerStatuses: s.containerStatuses,
  };
  if (s.podIP) {
    status.podIP = s.podIP;
    status.podIPs = [{ ip: s.podIP }];
  }
  if (s.initContainerStatuses.length > 0) status.initContainerStatuses = s.initContainerStatuses;
  if (s.reason) status.reason = s.reason;
  if (s.message) status.message = s.message;
  return status;
}

/**
 * The phase from the containers' states (kubelet's getPhase): Pending until every container has
 * started once; Succeeded or Failed when all have terminated for good; Running otherwise.
 */
export function podPhase(
  restartPolicy: string,
  containers: readonly V1ContainerStatus[],
  initDone: boolean,
): PodState['phase'] {
  if (!initDone) return 'Pending';
  let running = 0;
  let waiting = 0;
  let succeeded = 0;
  let failed = 0;
  for (const c of containers) {
    if (c.state?.running) running++;
    else if (c.state?.terminated) {
      if (c.state.terminated.exitCode === 0) succeeded++;
      else failed++;
    } else if (c.lastState?.terminated)
      running++; // restarting: it ran before
    else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (restartPolicy === 'Always') return 'Running';
  return failed > 0 ? 'Failed' : succeeded > 0 ? 'Succeeded' : 'Pending';
}
