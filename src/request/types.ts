/**
 * What a request asks for, computed exactly as kube-apiserver's RequestInfoFactory does
 * (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go), field for field.
 */
export interface RequestInfo {
  /** True for `/api/...` and `/apis/...` requests about resources; false for e.g. `/healthz`. */
  isResourceRequest: boolean;
  /** The URL path as received (before the query). */
  path: string;
  /** Kubernetes verb (get, list, watch, create, …) or, for non-resource requests, the lowercase HTTP method. */
  verb: string;
  apiPrefix: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  parts: readonly string[];
}

/** Who sent a request, as the upstream cluster should see it. */
export interface Identity {
  user: string;
  uid: string;
  groups: readonly string[];
  extra: Readonly<Record<string, readonly string[]>>;
}
