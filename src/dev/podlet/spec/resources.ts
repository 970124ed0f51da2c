import type { V1Container, V1Pod, V1ResourceFieldSelector } from '@kubernetes/client-node';
import { renderResource } from './quantity.ts';

/** The node's allocatable resources: the limit of a container that sets none. */
export interface NodeAllocatable {
  readonly cpu: string;
  readonly memory: string;
  readonly 'ephemeral-storage'?: string;
}

const STANDARD = new Set(['cpu', 'memory', 'ephemeral-storage']);

function findContainer(pod: V1Pod, name: string): V1Container {
  const c =
    pod.spec?.containers?.find((x) => x.name === name) ??
    pod.spec?.initContainers?.find((x) => x.name === name);
  if (!c) throw new Error(`container ${name} not found`);
  return c;
}

/**
 * A `resourceFieldRef` value: `limits.*` or `requests.*` of cpu, memory, ephemeral-storage or hugepages,
 * divided by `divisor` and rounded up; an unset limit of cpu, memory or ephemeral-storage is the node's
 * allocatable (the kubelet's defaultPodLimitsForDownwardAPI). `container` is used when the selector
 * names none (env vars); downwardAPI volumes always name one.
 */
export function resourceFieldValue(
  pod: V1Pod,
  container: V1Container | undefined,
  sel: V1ResourceFieldSelector,
  allocatable: NodeAllocatable,
): string {
  const c = sel.containerName ? findContainer(pod, sel.containerName) : container;
  if (!c) throw new Error(`container ${sel.containerName ?? ''} not found`);
  const dot = sel.resource.indexOf('.');
  const kind = sel.resource.slice(0, dot);
  const name = sel.resource.slice(dot + 1);
  if ((kind !== 'limits' && kind !== 'requests') || !(STANDARD.has(name) || name.startsWith('hugepages-'))) {
    throw new Error(`unsupported container resource : ${sel.resource}`);
  }
  let amount = kind === 'limits' ? c.resources?.limits?.[name] : c.resources?.requests?.[name];
  if (amount === undefined && kind === 'limits' && STANDARD.has(name)) {
    amount = allocatable[name as keyof NodeAllocatable];
  }
  return renderResource(name, amount, sel.divisor);
}
