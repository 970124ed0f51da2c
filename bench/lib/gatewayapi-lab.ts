import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { KubeClient } from '../../src/kube/client.ts';
import { DevCluster } from './dev-cluster.ts';

const ECHO_YAML = fileURLToPath(new URL('../../examples/gateway-api/echo.yaml', import.meta.url));
const GATEWAY_YAML = fileURLToPath(new URL('../../examples/gateway-api/gateway.yaml', import.meta.url));
const ROUTES = '/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes';
const COLLECTIONS: Readonly<Record<string, string>> = {
  Deployment: '/apis/apps/v1/namespaces/NS/deployments',
  Service: '/api/v1/namespaces/NS/services',
  Gateway: '/apis/gateway.networking.k8s.io/v1/namespaces/NS/gateways',
};

/** The host name of the route the throughput and steady loads use. */
export const STEADY_HOST = 'steady.bench.example';

/** What `kubegate dev --gateway-api` wrote to state.json that the bench needs. */
interface LabState {
  apiservers: string[];
  pids: Record<string, number>;
  lab: { underlayNetns: string } | null;
  gatewayAPI: { netns: string; addressPool: string } | null;
}

/**
 * A `kubegate dev --apiservers 1 --nodes 2 --gateway-api` with the example echo pods, the example
 * Gateway and one plain HTTPRoute (`steady.bench.example` → Service echo, no filters).
 */
export class GatewayAPILab {
  readonly dev: DevCluster;
  /** The namespace clients run in ("outside"), and the one `kubegate gateway-api` runs in. */
  underlayNetns = '';
  gatewayNetns = '';
  addressPool = '';
  /** The `kubegate gateway-api` node process (`ip netns exec` execs node, so its pid is node's). */
  gatewayAPIPid = 0;
  /** The Gateway's address (status.addresses[0]) and the echo pods' IPs. */
  gatewayAddress = '';
  podIPs: string[] = [];
  /** Admin, straight to apiserver 0. */
  admin: KubeClient | null = null;

  constructor(dir: string) {
    this.dev = new DevCluster(dir);
  }

  get api(): KubeClient {
    if (!this.admin) throw new Error('the lab is not started');
    return this.admin;
  }

  /** Starts the cluster and the example objects; resolves when the steady route answers 200 from outside. */
  async start(): Promise<void> {
    await this.dev.start(1, 2, ['--gateway-api']);
    const state = JSON.parse(await readFile(join(this.dev.dir, 'state.json'), 'utf8')) as LabState;
    if (!state.lab || !state.gatewayAPI) throw new Error('kubegate dev wrote no lab or gatewayAPI state');
    this.underlayNetns = state.lab.underlayNetns;
    this.gatewayNetns = state.gatewayAPI.netns;
    this.addressPool = state.gatewayAPI.addressPool;
    this.gatewayAPIPid = state.pids['gateway-api'] ?? 0;
    const cmdline = await readFile(`/proc/${this.gatewayAPIPid}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.includes('gateway-api') || cmdline.startsWith('ip\0'))
      throw new Error(`pid ${this.gatewayAPIPid} is not the gateway-api node process: ${cmdline}`);
    const [ca, cert, key] = await Promise.all(
      ['ca.crt', 'admin.crt', 'admin.key'].map((f) => readFile(this.dev.pki(f), 'utf8')),
    );
    this.admin = new KubeClient({ server: state.apiservers[0]!, ca, cert, key });
    for (const file of [ECHO_YAML, GATEWAY_YAML]) await this.#create(file);
    await this.api.json('POST', ROUTES, steadyRoute());
    this.gatewayAddress = await this.#programmedAddress();
    this.podIPs = await this.#readyEndpoints(2);
  }

  /** The command prefix that runs a command in the underlay namespace ("outside"). */
  get outside(): [string, string[]] {
    return ['ip', ['netns', 'exec', this.underlayNetns]];
  }

  /** The command prefix that runs a command in the Gateway host's namespace. */
  get gatewayHost(): [string, string[]] {
    return ['ip', ['netns', 'exec', this.gatewayNetns]];
  }

  /** POSTs every object of a YAML file (kinds of the example folder only). */
  async #create(file: string): Promise<void> {
    for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
      const o = doc.toJS() as { kind: string; metadata: { namespace?: string } };
      const path = COLLECTIONS[o.kind];
      if (!path) throw new Error(`${file}: no collection known for kind ${o.kind}`);
      await this.api.json('POST', path.replace('NS', o.metadata.namespace ?? 'default'), o);
    }
  }

  async #programmedAddress(): Promise<string> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const gw = await this.api.json<{
        status?: { addresses?: { value: string }[]; conditions?: { type: string; status: string }[] };
      }>('GET', '/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/example');
      const programmed = gw.status?.conditions?.some((c) => c.type === 'Programmed' && c.status === 'True');
      const address = gw.status?.addresses?.[0]?.value;
      if (programmed && address) return address;
      if (Date.now() > deadline) throw new Error('Gateway example not Programmed within 120 s');
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async #readyEndpoints(want: number): Promise<string[]> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const list = await this.api.json<{
        items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[];
      }>(
        'GET',
        '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Decho',
      );
      const ips = list.items.flatMap((s) =>
        (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses),
      );
      if (ips.length >= want) return ips.sort();
      if (Date.now() > deadline) throw new Error(`echo has ${ips.length} ready endpoints, want ${want}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Stops everything `kubegate dev` started (it stops its own children), even after a failed start. */
  async stop(): Promise<void> {
    this.admin?.close();
    this.admin = null;
    await this.dev.stop();
  }
}

function steadyRoute(): Record<string, unknown> {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'steady', namespace: 'default' },
    spec: {
      parentRefs: [{ name: 'example' }],
      hostnames: [STEADY_HOST],
      rules: [{ backendRefs: [{ name: 'echo', port: 8080 }] }],
    },
  };
}
