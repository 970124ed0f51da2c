import type { ExitStatus } from '../types.ts';

// What the kubelet writes on the error stream when a command ends (cri-streaming remotecommand):
// v4 and later send a JSON metav1.Status that carries the exit code; older versions send the
// status message as plain text, and nothing at all on success.

export interface Status {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: Array<{ reason?: string; message: string }> };
  code?: number;
}

export function successStatus(): Status {
  return { metadata: {}, status: 'Success' };
}

/** containerd's wording for a non-zero exit, wrapped as the kubelet wraps it. */
export function exitStatus(argv: readonly string[], exit: ExitStatus): Status {
  if (exit.code === 0) return successStatus();
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${argv.join(' ')}], exit code ${exit.code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exit.code) }] },
  };
}

export function internalErrorStatus(message: string): Status {
  return {
    metadata: {},
    status: 'Failure',
    message: `Internal error occurred: ${message}`,
    reason: 'InternalError',
    details: { causes: [{ message }] },
    code: 500,
  };
}

/** The bytes for the error stream under `protocol`, or null when nothing is written. */
export function encodeStatus(protocol: string, status: Status): Buffer | null {
  if (protocol === 'v4.channel.k8s.io') return Buffer.from(JSON.stringify(status), 'utf8');
  if (status.status === 'Success') return null;
  return Buffer.from(status.message ?? 'unknown error', 'utf8');
}
