/**
 * A pod spec the kubelet could not turn into a container config, reported on the Pod rather than thrown
 * at the caller's feet.
 *
 * `reason` is the container's waiting reason as the kubelet sets it (`CreateContainerConfigError` when
 * env or mounts cannot be resolved; `ContainerCreating` while volumes cannot be set up). `eventReason` is
 * the reason of the Warning event the kubelet records alongside (`Failed` with message `Error: <message>`
 * for config errors, `FailedMount` for volume set-up errors). `message` is worded as the kubelet's.
 */
export class SpecError extends Error {
  override name = 'SpecError';
  readonly reason: string;
  readonly eventReason: string;
  constructor(reason: string, message: string, eventReason?: string) {
    super(message);
    this.reason = reason;
    this.eventReason = eventReason ?? (reason === 'CreateContainerConfigError' ? 'Failed' : reason);
  }
}

/** `CreateContainerConfigError`: env, command or mount resolution failed (kubelet's ErrCreateContainerConfig). */
export function configError(message: string): SpecError {
  return new SpecError('CreateContainerConfigError', message, 'Failed');
}

/** A volume's set-up failed: the pod stays ContainerCreating and the kubelet records FailedMount. */
export function mountError(volume: string, message: string): SpecError {
  return new SpecError(
    'ContainerCreating',
    `MountVolume.SetUp failed for volume "${volume}" : ${message}`,
    'FailedMount',
  );
}

/** The wording of the kubelet's secret and configmap managers when an object does not exist. */
export function notFound(kind: 'secret' | 'configmap', name: string): string {
  return `${kind} "${name}" not found`;
}
