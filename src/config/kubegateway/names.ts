// KubeGateway names things by host name (the cluster) and by URL (an endpoint); kubegate names are
// DNS labels. These turn the one into the other, readably and without collisions.

const MAX = 63;

/** `Cluster-A.kubegateway.io` → `cluster-a-kubegateway-io`; empty when nothing usable is left. */
export function toLabel(text: string): string {
  let out = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (out.length > MAX) out = out.slice(0, MAX).replace(/-+$/, '');
  return out;
}

/** A label not in `taken` (adds it): `name`, else `name-2`, `name-3`, … (shortened to fit). */
export function uniqueLabel(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let n = 2; taken.has(candidate); n++) {
    const suffix = `-${n}`;
    candidate = name.slice(0, MAX - suffix.length).replace(/-+$/, '') + suffix;
  }
  taken.add(candidate);
  return candidate;
}

/** The endpoint name for a URL's host and port: `https://10.0.0.1:6443` → `10-0-0-1-6443`. */
export function endpointLabel(url: URL, position: number): string {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return toLabel(url.port === '' ? host : `${host}-${url.port}`) || `endpoint-${position}`;
}
