import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { SUPPORTED_VOLUME_TYPES, volumeType } from './volumes.ts';

// What the podlet cannot run: pods that share the node's PID or IPC namespace, ephemeral containers, volume
// types it has no plugin for, host ports off the host network and block devices.

const VOLUME_TYPES = new Set<string>(SUPPORTED_VOLUME_TYPES);
const PROJECTION_SOURCES = new Set(['secret', 'configMap', 'downwardAPI', 'serviceAccountToken']);

function containerProblems(c: V1Container, kind: string, hostNetwork: boolean): string[] {
  const out: string[] = [];
  for (const p of c.ports ?? []) {
    // On the host network a hostPort is the containerPort itself (the API server checks they match).
    if (p.hostPort && !hostNetwork) out.push(`${kind} "${c.name}" uses hostPort ${p.hostPort}`);
  }
  if (c.volumeDevices?.length) out.push(`${kind} "${c.name}" uses volumeDevices`);
  for (const e of c.env ?? []) {
    const from = e.valueFrom as Record<string, unknown> | undefined;
    const kinds = Object.keys(from ?? {}).filter(
      (k) =>
        !['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'].includes(k) && from![k] != null,
    );
    if (kinds.length) out.push(`${kind} "${c.name}" env ${e.name} uses valueFrom.${kinds[0]}`);
  }
  return out;
}

/**
 * Why the podlet cannot run this pod, in one line (several problems joined by "; "), or null when it can.
 * The pod worker reports it as the waiting reason's message and a Warning event.
 */
export function unsupportedReason(pod: V1Pod): string | null {
  const spec = pod.spec;
  if (!spec) return 'the pod has no spec';
  const out: string[] = [];
  if (spec.hostPID) out.push('hostPID is not supported');
  if (spec.hostIPC) out.push('hostIPC is not supported');
  if (spec.hostUsers === false) out.push('user namespaces (hostUsers: false) are not supported');
  if (spec.os?.name && spec.os.name !== 'linux') out.push(`os ${spec.os.name} is not supported`);
  if (spec.ephemeralContainers?.length) out.push('ephemeral containers are not supported');
  for (const v of spec.volumes ?? []) {
    const type = volumeType(v);
    if (!VOLUME_TYPES.has(type)) out.push(`volume "${v.name}" of type ${type} is not supported`);
    for (const src of v.projected?.sources ?? []) {
      const kind = Object.keys(src).find((k) => src[k as keyof typeof src] != null) ?? 'unknown';
      if (!PROJECTION_SOURCES.has(kind))
        out.push(`volume "${v.name}" projects ${kind}, which is not supported`);
    }
  }
  for (const c of spec.initContainers ?? [])
    out.push(...containerProblems(c, 'init container', spec.hostNetwork === true));
  for (const c of spec.containers ?? [])
    out.push(...containerProblems(c, 'container', spec.hostNetwork === true));
  return out.length ? out.join('; ') : null;
}
