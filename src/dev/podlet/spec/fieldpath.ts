import type { V1ObjectFieldSelector, V1Pod } from '@kubernetes/client-node';
import { goQuote } from '../../../auth/go-text.ts';

// Downward-API field paths (pkg/fieldpath and the kubelet's podFieldSelectorRuntimeValue).

/** What only the node knows about a pod, for `status.*` field paths. */
export interface PodAddresses {
  readonly hostIP: string;
  readonly podIP: string;
}

/** Splits `metadata.labels['key']` into path and subscript. */
export function splitSubscript(fieldPath: string): { path: string; subscript: string } | null {
  if (!fieldPath.endsWith("']")) return null;
  const s = fieldPath.slice(0, -2);
  const at = s.indexOf("['");
  if (at <= 0) return null;
  return { path: s.slice(0, at), subscript: s.slice(at + 2) };
}

/** `key="value"` lines in key order, as in the labels and annotations files. */
export function formatMap(m: Readonly<Record<string, string>> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${goQuote(m![k])}`)
    .join('\n');
}

/** fieldpath.ExtractFieldPathAsString: the metadata fields (all a downwardAPI volume may use). */
export function extractFieldPath(pod: V1Pod, fieldPath: string): string {
  const md = pod.metadata ?? {};
  const sub = splitSubscript(fieldPath);
  if (sub) {
    if (sub.path === 'metadata.annotations') return md.annotations?.[sub.subscript] ?? '';
    if (sub.path === 'metadata.labels') return md.labels?.[sub.subscript] ?? '';
    throw new Error(`fieldPath "${fieldPath}" does not support subscript`);
  }
  switch (fieldPath) {
    case 'metadata.annotations':
      return formatMap(md.annotations);
    case 'metadata.labels':
      return formatMap(md.labels);
    case 'metadata.name':
      return md.name ?? '';
    case 'metadata.namespace':
      return md.namespace ?? '';
    case 'metadata.uid':
      return md.uid ?? '';
  }
  throw new Error(`unsupported fieldPath: ${fieldPath}`);
}

const CONVERTIBLE = new Set([
  'metadata.annotations',
  'metadata.labels',
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.restartPolicy',
  'spec.serviceAccountName',
  'spec.schedulerName',
  'status.phase',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
]);

/** An env var's `fieldRef` value (kubelet podFieldSelectorRuntimeValue); throws with the kubelet's wording. */
export function podFieldValue(pod: V1Pod, sel: V1ObjectFieldSelector, addrs: PodAddresses): string {
  const version = sel.apiVersion || 'v1';
  if (version !== 'v1') throw new Error(`unsupported pod version: ${version}`);
  let path = sel.fieldPath;
  const sub = splitSubscript(path);
  if (sub) {
    if (sub.path !== 'metadata.annotations' && sub.path !== 'metadata.labels') {
      throw new Error(`field label does not support subscript: ${path}`);
    }
  } else if (path === 'spec.host') {
    path = 'spec.nodeName';
  } else if (!CONVERTIBLE.has(path)) {
    throw new Error(`field label not supported: ${path}`);
  }
  switch (path) {
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.hostIPs':
      return addrs.hostIP;
    case 'status.podIP':
    case 'status.podIPs':
      return addrs.podIP;
  }
  return extractFieldPath(pod, path);
}
