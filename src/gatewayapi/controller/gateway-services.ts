// What kubegate creates per Gateway (GatewayInfrastructure): a Service `<gateway>-kubegate` in the
// Gateway's namespace, without a selector, with one port per listener port (the Gateway's own and
// those of the ListenerSet listeners it serves) and an EndpointSlice that points at the Gateway's
// addresses, so clients in the cluster reach a Gateway by a stable DNS name and ClusterIP. Both carry the Gateway's `spec.infrastructure` labels and annotations, the
// `gateway.networking.k8s.io/gateway-name` label and an owner reference to the Gateway. A Gateway
// whose name is not a valid label value (longer than 63 characters) gets none.

import type { Logger } from 'pino';
import { KubeAPIError, type JSONClient } from '../../kube/client.ts';

/** The label the Gateway API reserves for objects generated for a Gateway. */
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';
/** Marks the Services and EndpointSlices kubegate generated (it changes or deletes no others). */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'kubegate-gateway-api';
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const SLICE_MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
const SLICE_MANAGED_BY = 'gateway.kubegate.io';

/** Every generated object's name ends so (only those are looked at in the caches). */
const SUFFIX = '-kubegate';
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** A Service, EndpointSlice or Gateway as cached: the fields read here. */
export interface CachedObject {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: unknown;
}

/** A Gateway of ours, as the controller has it: the object and the addresses its status gets. */
export interface GatewayInput {
  readonly object: CachedObject;
  readonly addresses: readonly string[];
  /** The ports of the ListenerSet listeners served on the Gateway. */
  readonly listenerSetPorts?: readonly { readonly port: number; readonly protocol: 'TCP' | 'UDP' }[];
}

interface Port {
  readonly name: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
}

/** One generated object: its API path (collection) and the manifest. */
export interface Generated {
  readonly collection: string;
  readonly manifest: {
    apiVersion: string;
    kind: string;
    metadata: {
      name: string;
      namespace: string;
      labels: Record<string, string>;
      annotations: Record<string, string>;
      ownerReferences: unknown[];
    };
    [field: string]: unknown;
  };
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return out;
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

/** The Service name for a Gateway: `<gateway>-kubegate`, or null when that is no DNS label. */
export function serviceName(gateway: string): string | null {
  const name = `${gateway}${SUFFIX}`;
  return name.length <= 63 && DNS_LABEL.test(name) ? name : null;
}

function portsOf(spec: Record<string, unknown>, fromSets: GatewayInput['listenerSetPorts'] = []): Port[] {
  const ports = new Map<string, Port>();
  for (const l of [...(Array.isArray(spec.listeners) ? spec.listeners : []), ...fromSets]) {
    const port = (l as { port?: unknown }).port;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) continue;
    const protocol = (l as { protocol?: unknown }).protocol === 'UDP' ? 'UDP' : 'TCP';
    const name = `${protocol.toLowerCase()}-${port}`;
    ports.set(name, { name, port, protocol });
  }
  return [...ports.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}

/** The Service and EndpointSlice of every Gateway given (those Accepted by kubegate). */
export function gatewayObjects(gateways: readonly GatewayInput[]): Generated[] {
  const out: Generated[] = [];
  for (const { object, addresses, listenerSetPorts } of gateways) {
    const { name: gateway, namespace = '', uid } = object.metadata;
    const name = serviceName(gateway);
    const ports = portsOf((object.spec ?? {}) as Record<string, unknown>, listenerSetPorts);
    if (name === null || !LABEL_VALUE.test(gateway) || ports.length === 0 || !uid) continue;
    const infra = ((object.spec ?? {}) as { infrastructure?: unknown }).infrastructure as
      { labels?: unknown; annotations?: unknown } | undefined;
    const labels = {
      ...stringMap(infra?.labels),
      [GATEWAY_NAME_LABEL]: gateway,
      [MANAGED_BY_LABEL]: MANAGED_BY,
    };
    const annotations = stringMap(infra?.annotations);
    const ownerReferences = [
      { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', name: gateway, uid, controller: true },
    ];
    const metadata = { name, namespace, labels, annotations, ownerReferences };
    out.push({
      collection: `/api/v1/namespaces/${namespace}/services`,
      manifest: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata,
        spec: {
          type: 'ClusterIP',
          ports: ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol, targetPort: p.port })),
        },
      },
    });
    out.push({
      collection: `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
      manifest: {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          ...metadata,
          labels: { ...labels, [SERVICE_NAME_LABEL]: name, [SLICE_MANAGED_BY_LABEL]: SLICE_MANAGED_BY },
        },
        addressType: 'IPv4',
        endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
        ports: ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })),
      },
    });
  }
  return out;
}

/** What of a Service or EndpointSlice kubegate sets, for comparing with what the server holds. */
function owned(o: Record<string, unknown>): string {
  const m = (o.metadata ?? {}) as Record<string, unknown>;
  const spec = (o.spec ?? {}) as Record<string, unknown>;
  const pick = (list: unknown, keys: readonly string[]) =>
    (Array.isArray(list) ? list : []).map((x) => keys.map((k) => (x as Record<string, unknown>)[k]));
  return JSON.stringify([
    stringMap(m.labels),
    stringMap(m.annotations),
    pick(m.ownerReferences, ['kind', 'name', 'uid']),
    pick(spec.ports, ['name', 'port', 'protocol', 'targetPort']),
    pick(o.endpoints, ['addresses']),
    pick(o.ports, ['name', 'port', 'protocol']),
  ]);
}

/**
 * Keeps the generated objects in the cluster as `gatewayObjects` says: creates the missing ones,
 * replaces the labels, annotations and ports of changed ones, and deletes the ones kubegate made
 * for Gateways that are gone. An object of the same name that kubegate did not make is left alone.
 */
export class GatewayServices {
  readonly #client: JSONClient;
  readonly #log: Logger;
  /** Failures already logged, by object and message: a lasting one (RBAC) is logged once. */
  readonly #logged = new Set<string>();

  constructor(client: JSONClient, log: Logger) {
    this.#client = client;
    this.#log = log;
  }

  /**
   * One pass, against the cached Services and EndpointSlices. `foreign` holds the `namespace/name`
   * of Gateways of other controllers (another kubegate's): their objects are not deleted.
   */
  async reconcile(
    desired: readonly Generated[],
    services: readonly CachedObject[],
    slices: readonly CachedObject[],
    foreign: ReadonlySet<string> = new Set(),
  ): Promise<void> {
    const byPath = new Map<string, CachedObject>();
    for (const [kind, list] of [
      ['Service', services],
      ['EndpointSlice', slices],
    ] as const)
      for (const o of list)
        if (o.metadata.name.endsWith(SUFFIX))
          byPath.set(`${kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o);
    const wanted = new Set<string>();
    for (const d of desired) {
      const m = d.manifest.metadata;
      const key = `${d.manifest.kind}/${m.namespace}/${m.name}`;
      wanted.add(key);
      const have = byPath.get(key);
      if (have === undefined) await this.#send('POST', d.collection, d.manifest, key);
      else if (have.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY)
        this.#once(key, 'an object of that name exists that kubegate did not make');
      else if (owned(have as unknown as Record<string, unknown>) !== owned(d.manifest)) {
        // A merge patch: labels and annotations kubegate no longer wants are removed with null.
        const unset = (now: Record<string, string> | undefined, next: Record<string, string>) =>
          Object.fromEntries(
            Object.keys(now ?? {})
              .filter((k) => !(k in next))
              .map((k) => [k, null]),
          );
        const { apiVersion: _, kind: __, metadata, ...rest } = d.manifest;
        const patch = {
          metadata: {
            labels: { ...unset(have.metadata.labels, metadata.labels), ...metadata.labels },
            annotations: {
              ...unset(have.metadata.annotations, metadata.annotations),
              ...metadata.annotations,
            },
            ownerReferences: metadata.ownerReferences,
          },
          ...rest,
        };
        await this.#send('PATCH', `${d.collection}/${m.name}`, patch, key);
      }
    }
    for (const [key, o] of byPath) {
      if (wanted.has(key) || o.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) continue;
      const gateway = o.metadata.labels?.[GATEWAY_NAME_LABEL];
      const [kind, namespace, name] = key.split('/');
      if (gateway === undefined || foreign.has(`${namespace}/${gateway}`)) continue;
      const base =
        kind === 'Service'
          ? `/api/v1/namespaces/${namespace}/services`
          : `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`;
      await this.#send('DELETE', `${base}/${name}`, undefined, key);
    }
  }

  async #send(method: string, path: string, body: unknown, key: string): Promise<void> {
    try {
      await this.#client.json(method, path, body);
    } catch (err) {
      // The cache lags behind the writes: an object created or deleted meanwhile is no failure.
      if (err instanceof KubeAPIError && (err.status === 409 || err.status === 404)) return;
      this.#once(key, (err as Error).message);
    }
  }

  #once(key: string, message: string): void {
    const id = `${key} ${message}`;
    if (this.#logged.has(id)) return;
    this.#logged.add(id);
    this.#log.warn({ kind: 'gatewayapi', object: key, err: message }, 'could not keep a Gateway Service');
  }
}
