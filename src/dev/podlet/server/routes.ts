/** The kubelet API paths the podlet serves (k8s.io/kubernetes pkg/kubelet/server/server.go). */
export type Route =
  | { kind: 'healthz' }
  | { kind: 'logs'; namespace: string; pod: string; container: string }
  | { kind: 'exec' | 'attach'; namespace: string; pod: string; uid?: string; container: string }
  | { kind: 'portForward'; namespace: string; pod: string; uid?: string };

export function matchRoute(pathname: string): Route | null {
  if (pathname === '/healthz') return { kind: 'healthz' };
  let parts: string[];
  try {
    parts = pathname.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return null; // malformed percent-encoding: no such route
  }
  if (parts.some((p) => p === '')) return null;
  const [head, namespace, pod, ...rest] = parts;
  if (namespace === undefined || pod === undefined) return null;
  switch (head) {
    case 'containerLogs':
      return rest.length === 1 ? { kind: 'logs', namespace, pod, container: rest[0] } : null;
    case 'exec':
    case 'attach':
      if (rest.length === 1) return { kind: head, namespace, pod, container: rest[0] };
      if (rest.length === 2) return { kind: head, namespace, pod, uid: rest[0], container: rest[1] };
      return null;
    case 'portForward':
      if (rest.length === 0) return { kind: 'portForward', namespace, pod };
      if (rest.length === 1) return { kind: 'portForward', namespace, pod, uid: rest[0] };
      return null;
    default:
      return null;
  }
}
