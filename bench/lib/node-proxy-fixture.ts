import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KubeAPIError, KubeClient } from '../../src/kube/client.ts';
import { watchStream } from '../../src/kube/watch.ts';
import type { DevCluster } from './dev-cluster.ts';

// The Services and pods the node-proxy bench puts in a `kubegate dev` lab, the same for both proxies.
//
// - pod `bench-a` (node-2) and pod `bench-b` (node-1): agnhost netexec on 8080, `/hostname` = pod name;
// - bulk Services `bulk-N` without selector, each with its own EndpointSlice (→ bench-a) written by the
//   bench: kube-controller-manager's client (20 QPS) would take ~8 minutes to write 10,000 of them;
// - Service `bench-scale` selecting label `bench-scale=in`: bench-a always, bench-b when the bench
//   adds the label (the EndpointSlice change the proxies must follow);
// - Service `bench-direct` without selector, its slice written by the bench: bench-a, and bench-b when
//   the bench adds it (an EndpointSlice change with no Pod change before it);
// - probe Services (created per measurement) selecting bench-a, their slices written by the controller.

const NS = 'default';
const AGNHOST = 'registry.k8s.io/e2e-test-images/agnhost:2.66';
export const POD_A = 'bench-a';
export const POD_B = 'bench-b';
export const SCALE_SERVICE = 'bench-scale';
export const DIRECT_SERVICE = 'bench-direct';
const WATCH_LABEL = 'bench-watch';
const MANAGER = 'bench.kubegate.dev';

interface Slice {
  metadata: { name: string; labels?: Record<string, string> };
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[];
}

export class NodeProxyFixture {
  readonly client: KubeClient;
  podAIP = '';
  podBIP = '';
  scaleIP = '';
  directIP = '';
  /** ClusterIPs of the bulk Services, in creation order. */
  readonly bulkIPs: string[] = [];
  readonly #slices = new Map<string, { at: number; ready: Set<string> }>();
  readonly #waiters = new Set<() => void>();
  readonly #abort = new AbortController();

  private constructor(client: KubeClient) {
    this.client = client;
  }

  /** Admin client straight to apiserver 0 (bulk creates do not queue behind the gateway's limits). */
  static async open(dev: DevCluster): Promise<NodeProxyFixture> {
    const [ca, cert, key] = await Promise.all(
      ['ca.crt', 'admin.crt', 'admin.key'].map((f) => readFile(join(dev.dir, 'pki', f), 'utf8')),
    );
    const f = new NodeProxyFixture(new KubeClient({ server: dev.apiservers[0]!, ca, cert, key }));
    void f.#watchSlices();
    return f;
  }

  close(): void {
    this.#abort.abort();
    this.client.close();
  }

  /** Pods a and b Ready, Service bench-scale with bench-a only. */
  async setUp(): Promise<void> {
    await this.#waitFor('default ServiceAccount', 60_000, () =>
      this.client.json('GET', `/api/v1/namespaces/${NS}/serviceaccounts/default`).then(
        () => true,
        () => false,
      ),
    );
    for (const [name, node, labels] of [
      [POD_A, 'node-2', { 'bench-role': 'server', 'bench-scale': 'in' }],
      [POD_B, 'node-1', { 'bench-role': 'spare' }],
    ] as const)
      await this.client.json('POST', `/api/v1/namespaces/${NS}/pods`, {
        metadata: { name, namespace: NS, labels },
        spec: {
          nodeName: node,
          containers: [{ name: 'main', image: AGNHOST, args: ['netexec', '--http-port=8080'] }],
        },
      });
    this.podAIP = await this.#readyIP(POD_A);
    this.podBIP = await this.#readyIP(POD_B);
    this.scaleIP = await this.createService(SCALE_SERVICE, { 'bench-scale': 'in' });
    await this.waitSlice(SCALE_SERVICE, (ready) => ready.size === 1, 0, 30_000);
    this.directIP = await this.createService(DIRECT_SERVICE);
    await this.client.json('POST', `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`, {
      metadata: {
        name: `${DIRECT_SERVICE}-bench`,
        namespace: NS,
        labels: this.#sliceLabels(DIRECT_SERVICE, true),
      },
      ...this.#sliceBody([this.podAIP]),
    });
    await this.waitSlice(DIRECT_SERVICE, (ready) => ready.size === 1, 0, 30_000);
  }

  /** Writes bench-direct's slice with or without bench-b; returns when the PATCH was sent. */
  async directB(into: boolean): Promise<number> {
    const sent = Date.now();
    await this.client.json(
      'PATCH',
      `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices/${DIRECT_SERVICE}-bench`,
      this.#sliceBody(into ? [this.podAIP, this.podBIP] : [this.podAIP]),
    );
    return sent;
  }

  #sliceLabels(service: string, watched: boolean): Record<string, string> {
    return {
      'kubernetes.io/service-name': service,
      'endpointslice.kubernetes.io/managed-by': MANAGER,
      ...(watched ? { [WATCH_LABEL]: 'yes' } : {}),
    };
  }

  #sliceBody(ips: readonly string[]): Record<string, unknown> {
    return {
      addressType: 'IPv4',
      endpoints: ips.map((ip) => ({
        addresses: [ip],
        conditions: { ready: true },
        nodeName: ip === this.podAIP ? 'node-2' : 'node-1',
      })),
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    };
  }

  /** Creates a Service on port 80 → 8080 and returns its ClusterIP (`clusterIP` when given). */
  async createService(name: string, selector?: Record<string, string>, clusterIP?: string): Promise<string> {
    const svc = await this.client.json<{ spec: { clusterIP: string } }>(
      'POST',
      `/api/v1/namespaces/${NS}/services`,
      {
        metadata: { name, namespace: NS, labels: { [WATCH_LABEL]: 'yes' } },
        spec: {
          ...(clusterIP ? { clusterIP } : {}),
          ...(selector ? { selector } : {}),
          ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
        },
      },
    );
    return svc.spec.clusterIP;
  }

  async deleteService(name: string): Promise<void> {
    await this.client.json('DELETE', `/api/v1/namespaces/${NS}/services/${name}`);
  }

  /** Bulk Services up to `total` (with their slices), `concurrency` requests at a time; seconds taken. */
  async bulkServices(total: number, concurrency: number): Promise<number> {
    const started = performance.now();
    let next = this.bulkIPs.length;
    const ips: string[] = this.bulkIPs;
    const worker = async () => {
      while (next < total) {
        const i = next++;
        const name = `bulk-${i}`;
        ips[i] = await this.createService(name);
        await this.client.json('POST', `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`, {
          metadata: { name: `${name}-bench`, namespace: NS, labels: this.#sliceLabels(name, false) },
          ...this.#sliceBody([this.podAIP]),
        });
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return (performance.now() - started) / 1000;
  }

  /** Adds (`in`) or removes pod b's `bench-scale=in` label; returns when the PATCH was sent. */
  async scaleB(into: boolean): Promise<number> {
    const sent = Date.now();
    await this.client.json('PATCH', `/api/v1/namespaces/${NS}/pods/${POD_B}`, {
      metadata: { labels: { 'bench-scale': into ? 'in' : null } },
    });
    return sent;
  }

  /**
   * Waits until a watched Service's slice (controller-written) satisfies `test` by an event seen
   * after `since` (ms); returns that event's arrival time.
   */
  async waitSlice(
    service: string,
    test: (ready: Set<string>) => boolean,
    since: number,
    timeoutMs: number,
  ): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.#slices.get(service);
      if (s && s.at >= since && test(s.ready)) return s.at;
      if (Date.now() > deadline)
        throw new Error(`EndpointSlice of ${service}: no matching change in ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        this.#waiters.add(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async #watchSlices(): Promise<void> {
    const path = `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices?watch=1&labelSelector=${WATCH_LABEL}%3Dyes`;
    while (!this.#abort.signal.aborted) {
      await watchStream<Slice>(
        this.client.target,
        this.client.watchAgent,
        path,
        (e) => {
          const svc = e.object.metadata?.labels?.['kubernetes.io/service-name'];
          if (!svc || (e.type !== 'ADDED' && e.type !== 'MODIFIED')) return;
          const ready = new Set<string>();
          for (const ep of e.object.endpoints ?? [])
            if (ep.conditions?.ready !== false) for (const a of ep.addresses) ready.add(a);
          this.#slices.set(svc, { at: Date.now(), ready });
          for (const w of this.#waiters) w();
          this.#waiters.clear();
        },
        this.#abort.signal,
      ).catch(() => new Promise((r) => setTimeout(r, 500)));
    }
  }

  async #readyIP(pod: string): Promise<string> {
    let ip = '';
    await this.#waitFor(`pod ${pod} Ready`, 90_000, async () => {
      const p = await this.client.json<{
        status?: { podIP?: string; conditions?: { type: string; status: string }[] };
      }>('GET', `/api/v1/namespaces/${NS}/pods/${pod}`);
      ip = p.status?.podIP ?? '';
      return (
        ip !== '' && (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false)
      );
    });
    return ip;
  }

  async #waitFor(what: string, timeoutMs: number, test: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await test())) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Whether an error is the API's "this ClusterIP is taken" (422), so another can be tried. */
export function ipTaken(err: unknown): boolean {
  return err instanceof KubeAPIError && err.status === 422;
}
