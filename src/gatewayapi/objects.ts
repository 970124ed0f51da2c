// The Gateway API and core objects the translator reads and the statuses it writes, as minimal
// TypeScript shapes. Every field is optional: objects come from the API server (or a test file) and
// the translator reads them defensively, so these types document the shape rather than promise it.

/** A status condition as the translator writes it; the status writer adds `lastTransitionTime`. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration: number;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  resourceVersion?: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key?: string; operator?: string; values?: string[] }[];
}

export interface GatewayClass extends KubeObject {
  spec?: {
    controllerName?: string;
    description?: string;
    parametersRef?: { group?: string; kind?: string; name?: string; namespace?: string };
  };
  status?: { conditions?: Condition[]; supportedFeatures?: { name: string }[] };
}

export interface SecretObjectReference {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

export interface RouteGroupKind {
  group?: string;
  kind?: string;
}

export interface Listener {
  name?: string;
  hostname?: string;
  port?: number;
  protocol?: string;
  tls?: { mode?: string; certificateRefs?: SecretObjectReference[]; options?: Record<string, string> };
  allowedRoutes?: {
    namespaces?: { from?: string; selector?: LabelSelector };
    kinds?: RouteGroupKind[];
  };
}

export interface ListenerStatus {
  name: string;
  supportedKinds: { group: string; kind: string }[];
  attachedRoutes: number;
  conditions: Condition[];
}

export interface GatewayStatus {
  addresses: { type: string; value: string }[];
  conditions: Condition[];
  listeners: ListenerStatus[];
  /** Written only for a Gateway that allows ListenerSets or that one names. */
  attachedListenerSets?: number;
}

export interface Gateway extends KubeObject {
  spec?: {
    gatewayClassName?: string;
    listeners?: Listener[];
    addresses?: { type?: string; value?: string }[];
    allowedListeners?: { namespaces?: { from?: string; selector?: LabelSelector } };
    infrastructure?: {
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
      parametersRef?: { group?: string; kind?: string; name?: string };
    };
  };
  status?: Partial<GatewayStatus>;
}

/** ListenerSet (v1): listeners added to a Gateway that allows them (`spec.allowedListeners`). */
export interface ListenerSet extends KubeObject {
  spec?: {
    parentRef?: { group?: string; kind?: string; name?: string; namespace?: string };
    listeners?: Listener[];
  };
  status?: Partial<ListenerSetStatus>;
}

export interface ListenerSetStatus {
  conditions: Condition[];
  listeners: ListenerStatus[];
}

export interface ParentReference {
  group?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  sectionName?: string;
  port?: number;
}

export interface RouteParentStatus {
  parentRef: ParentReference;
  controllerName: string;
  conditions: Condition[];
}

export interface BackendObjectReference {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  port?: number;
}

export interface HTTPHeaderFilter {
  set?: { name?: string; value?: string }[];
  add?: { name?: string; value?: string }[];
  remove?: string[];
}

export interface HTTPPathModifier {
  type?: string;
  replaceFullPath?: string;
  replacePrefixMatch?: string;
}

export interface HTTPRouteFilter {
  type?: string;
  requestHeaderModifier?: HTTPHeaderFilter;
  responseHeaderModifier?: HTTPHeaderFilter;
  requestRedirect?: {
    scheme?: string;
    hostname?: string;
    path?: HTTPPathModifier;
    port?: number;
    statusCode?: number;
  };
  urlRewrite?: { hostname?: string; path?: HTTPPathModifier };
  requestMirror?: {
    backendRef?: BackendObjectReference;
    percent?: number;
    fraction?: { numerator?: number; denominator?: number };
  };
  cors?: {
    allowOrigins?: string[];
    allowMethods?: string[];
    allowHeaders?: string[];
    exposeHeaders?: string[];
    allowCredentials?: boolean;
    maxAge?: number;
  };
  extensionRef?: { group?: string; kind?: string; name?: string };
}

export interface HTTPRouteMatch {
  path?: { type?: string; value?: string };
  headers?: { type?: string; name?: string; value?: string }[];
  queryParams?: { type?: string; name?: string; value?: string }[];
  method?: string;
}

export interface HTTPRouteRule {
  name?: string;
  matches?: HTTPRouteMatch[];
  filters?: HTTPRouteFilter[];
  backendRefs?: (BackendObjectReference & { weight?: number; filters?: HTTPRouteFilter[] })[];
  timeouts?: { request?: string; backendRequest?: string };
  retry?: { codes?: number[]; attempts?: number; backoff?: string };
}

export interface HTTPRoute extends KubeObject {
  spec?: {
    parentRefs?: ParentReference[];
    hostnames?: string[];
    rules?: HTTPRouteRule[];
  };
  status?: { parents?: RouteParentStatus[] };
}

/** A GRPCRoute rule: method and header matches, the header and mirror filters, weighted backends. */
export interface GRPCRouteRule {
  name?: string;
  matches?: {
    method?: { type?: 'Exact' | 'RegularExpression'; service?: string; method?: string };
    headers?: { type?: 'Exact' | 'RegularExpression'; name: string; value: string }[];
  }[];
  filters?: HTTPRouteFilter[];
  backendRefs?: (BackendObjectReference & { weight?: number; filters?: HTTPRouteFilter[] })[];
}

export interface GRPCRoute extends KubeObject {
  spec?: {
    parentRefs?: ParentReference[];
    hostnames?: string[];
    rules?: GRPCRouteRule[];
  };
  status?: { parents?: RouteParentStatus[] };
}

export interface ReferenceGrant extends KubeObject {
  spec?: {
    from?: { group?: string; kind?: string; namespace?: string }[];
    to?: { group?: string; kind?: string; name?: string }[];
  };
}

export interface ServicePort {
  name?: string;
  port?: number;
  targetPort?: number | string;
  protocol?: string;
  appProtocol?: string;
}

export interface Service extends KubeObject {
  spec?: { type?: string; clusterIP?: string; ports?: ServicePort[]; selector?: Record<string, string> };
}

export interface EndpointSlice extends KubeObject {
  addressType?: string;
  endpoints?: {
    addresses?: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  }[];
  ports?: { name?: string; port?: number; protocol?: string; appProtocol?: string }[];
}

export interface Secret extends KubeObject {
  type?: string;
  /** Base64-encoded values. */
  data?: Record<string, string>;
}

export type Namespace = KubeObject;

export interface BackendTLSPolicy extends KubeObject {
  spec?: {
    targetRefs?: { group?: string; kind?: string; name?: string; sectionName?: string }[];
    validation?: {
      caCertificateRefs?: { group?: string; kind?: string; name?: string }[];
      wellKnownCACertificates?: string;
      hostname?: string;
      subjectAltNames?: { type?: string; hostname?: string; uri?: string }[];
    };
    options?: Record<string, string>;
  };
  status?: {
    ancestors?: { ancestorRef: ParentReference; controllerName: string; conditions: Condition[] }[];
  };
}

export interface ConfigMap extends KubeObject {
  /** Plain-text values (a CA bundle is PEM under `ca.crt`). */
  data?: Record<string, string>;
}

/** A rule of a TLSRoute, TCPRoute or UDPRoute: weighted backends only (v1 allows one rule). */
export interface StreamRouteRule {
  name?: string;
  backendRefs?: (BackendObjectReference & { weight?: number })[];
}

/** TLSRoute (v1): routed by the SNI of the ClientHello. */
export interface TLSRoute extends KubeObject {
  spec?: { parentRefs?: ParentReference[]; hostnames?: string[]; rules?: StreamRouteRule[] };
  status?: { parents?: RouteParentStatus[] };
}

/** TCPRoute (v1 in the experimental channel): every connection to the listener. */
export interface TCPRoute extends KubeObject {
  spec?: { parentRefs?: ParentReference[]; rules?: StreamRouteRule[] };
  status?: { parents?: RouteParentStatus[] };
}

/** UDPRoute (v1 in the experimental channel): every datagram to the listener. */
export type UDPRoute = TCPRoute;

/** A targetRef of a policy (Gateway API `LocalPolicyTargetReferenceWithSectionName`). */
export interface PolicyTargetReference {
  group?: string;
  kind?: string;
  name?: string;
  sectionName?: string;
}

/** TrafficPolicy (gateway.kubegate.io/v1alpha1): request policies on Gateways and HTTPRoutes. */
export interface TrafficPolicy extends KubeObject {
  spec?: {
    targetRefs?: PolicyTargetReference[];
    ipFilter?: { allow?: string[]; deny?: string[] };
    requestBodyLimit?: { maxBytes?: number };
    localRateLimit?: { tokens?: number; fillInterval?: string };
    basicAuth?: { secretRef?: { name?: string }; realm?: string };
    apiKeyAuth?: { secretRef?: { name?: string }; headerName?: string; stripHeader?: boolean };
  };
  status?: {
    ancestors?: { ancestorRef: ParentReference; controllerName: string; conditions: Condition[] }[];
  };
}
