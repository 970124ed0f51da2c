import { readFileSync } from 'node:fs';
import { arch, cpus, release, totalmem } from 'node:os';
import type { Logger } from 'pino';
import type { V1Node } from '@kubernetes/client-node';
import type { KubeClient } from '../../kube/client.ts';
import { KUBELET_PORT } from '../egress-proxy.ts';

export const KUBELET_VERSION = 'v1.37.2';
const LEASE_NAMESPACE = 'kube-node-lease';
const LEASE_DURATION_SECONDS = 40;
/** The kubelet's defaults: a lease renewal every 10 s, a full status report at least every 5 min. */
const RENEW_MS = 10_000;
const STATUS_REPORT_MS = 60_000;

export interface NodeIdentity {
  readonly name: string;
  readonly internalIP: string;
  /** Pods this node admits (`status.capacity.pods`). */
  readonly maxPods: number;
}

/**
 * Registers the Node and keeps it alive: the Lease in kube-node-lease renewed every 10 s and the
 * Ready condition reported, each on its own timer, so no amount of pod work delays them (a node
 * whose lease lapses is tainted and, after 5 minutes, emptied by kube-controller-manager).
 */
export class NodeAgent {
  readonly #client: KubeClient;
  readonly #node: NodeIdentity;
  readonly #log: Logger;
  #timers: NodeJS.Timeout[] = [];
  #uid = '';

  constructor(client: KubeClient, node: NodeIdentity, log: Logger) {
    this.#client = client;
    this.#node = node;
    this.#log = log;
  }

  /** Creates (or takes over) the Node and its Lease; resolves with the Node as stored. */
  async register(): Promise<V1Node> {
    const path = `/api/v1/nodes/${this.#node.name}`;
    const created = await this.#client.raw<V1Node>('POST', '/api/v1/nodes', this.#nodeObject());
    if (created.status !== 201 && created.status !== 409)
      throw new Error(
        `registering node ${this.#node.name}: HTTP ${created.status} ${JSON.stringify(created.body)}`,
      );
    await this.#reportStatus();
    const node = await this.#client.json<V1Node>('GET', path);
    this.#uid = node.metadata?.uid ?? '';
    await this.#renewLease();
    this.#timers.push(
      setInterval(
        () => void this.#renewLease().catch((err: Error) => this.#warn('lease renewal', err)),
        RENEW_MS,
      ),
      setInterval(
        () => void this.#reportStatus().catch((err: Error) => this.#warn('node status', err)),
        STATUS_REPORT_MS,
      ),
    );
    return node;
  }

  /** Resolves with `spec.podCIDR` once kube-controller-manager has allocated it. */
  async podCIDR(timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const node = await this.#client.json<V1Node>('GET', `/api/v1/nodes/${this.#node.name}`);
      const cidr = node.spec?.podCIDR;
      if (cidr) return cidr;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(
      `node ${this.#node.name} got no spec.podCIDR within ${timeoutMs / 1000}s (is kube-controller-manager running with --allocate-node-cidrs?)`,
    );
  }

  stop(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
  }

  #warn(what: string, err: Error): void {
    this.#log.warn({ err: err.message }, `${what} failed; retrying on the next tick`);
  }

  async #renewLease(): Promise<void> {
    const now = microTime(new Date());
    const path = `/apis/coordination.k8s.io/v1/namespaces/${LEASE_NAMESPACE}/leases`;
    const res = await this.#client.raw('PATCH', `${path}/${this.#node.name}`, { spec: { renewTime: now } });
    if (res.status === 200) return;
    if (res.status !== 404) throw new Error(`HTTP ${res.status} ${JSON.stringify(res.body)}`);
    await this.#client.json('POST', path, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.#node.name,
        namespace: LEASE_NAMESPACE,
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.#node.name, uid: this.#uid }],
      },
      spec: {
        holderIdentity: this.#node.name,
        leaseDurationSeconds: LEASE_DURATION_SECONDS,
        renewTime: now,
      },
    });
  }

  async #reportStatus(): Promise<void> {
    await this.#client.json('PATCH', `/api/v1/nodes/${this.#node.name}/status`, {
      status: this.#status(),
    });
  }

  #nodeObject(): V1Node {
    const { name } = this.#node;
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': goArch(),
          'beta.kubernetes.io/os': 'linux',
          'beta.kubernetes.io/arch': goArch(),
          'node.kubegate.io/podlet': 'true',
        },
      },
      spec: {},
      status: this.#status(),
    };
  }

  #status(): NonNullable<V1Node['status']> {
    const now = new Date();
    const capacity = {
      cpu: String(cpus().length),
      memory: `${Math.floor(totalmem() / 1024)}Ki`,
      pods: String(this.#node.maxPods),
      'ephemeral-storage': '20Gi',
    };
    const condition = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: now,
    });
    return {
      addresses: [
        { type: 'InternalIP', address: this.#node.internalIP },
        { type: 'Hostname', address: this.#node.name },
      ],
      capacity,
      allocatable: capacity,
      conditions: [
        condition(
          'MemoryPressure',
          'False',
          'KubeletHasSufficientMemory',
          'podlet has sufficient memory available',
        ),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'podlet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'podlet has sufficient PID available'),
        condition('Ready', 'True', 'KubeletReady', 'podlet is posting ready status'),
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: KUBELET_PORT } },
      nodeInfo: {
        machineID: readId('/etc/machine-id'),
        systemUUID: readId('/sys/class/dmi/id/product_uuid'),
        bootID: readId('/proc/sys/kernel/random/boot_id'),
        kernelVersion: release(),
        osImage: 'kubegate podlet (processes in network namespaces)',
        containerRuntimeVersion: 'podlet://0.1.0',
        kubeletVersion: KUBELET_VERSION,
        // Deprecated and unset by kubelets since 1.31; the client's type still requires it.
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: goArch(),
      },
    };
  }
}

/** metav1.MicroTime's wire form: RFC 3339 with exactly six fractional digits. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function goArch(): string {
  const a = arch();
  return a === 'x64' ? 'amd64' : a;
}

function readId(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}
