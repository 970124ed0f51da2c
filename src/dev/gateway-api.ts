import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeClient } from '../kube/client.ts';
import { CONTROLLER_NAME } from '../gatewayapi/controller/controller.ts';
import { APISocket } from './api-socket.ts';
import { installCRDs, KUBEGATE_GATEWAY_API_CRDS, provideGatewayAPICRDs } from './gateway-api-crds.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { addGatewayHost, type GatewayHost, type Lab } from './lab/index.ts';
import { issueCert, type CertFiles } from './pki.ts';
import { startProcess, stopProcess, type ManagedProcess } from './process.ts';
import { GATEWAY_API_USER, gatewayApiClusterRole, gatewayApiClusterRoleBinding } from './rbac.ts';

const MAIN = fileURLToPath(new URL('../cli/main.ts', import.meta.url));

/** The GatewayClass `kubegate dev --gateway-api` creates. */
export const DEV_GATEWAY_CLASS = 'kubegate';

export interface LocalGatewayAPIOptions {
  dir: string;
  lab: Lab;
  /** kubegate's API endpoint (`https://127.0.0.1:<port>`), which the controller talks to. */
  server: string;
  ca: CertFiles;
  admin: KubeClient;
  log: (msg: string) => void;
}

/**
 * Gateway API in the local cluster: the CRDs, a GatewayClass, and `kubegate gateway-api` running in
 * a lab namespace of its own (the Gateway host), where Gateway addresses are routed and pods are
 * reachable. It reaches the API through a unix socket joined to kubegate's loopback port.
 */
export class LocalGatewayAPI {
  readonly host: GatewayHost;
  readonly process: ManagedProcess;
  readonly #socket: APISocket;

  private constructor(host: GatewayHost, proc: ManagedProcess, socket: APISocket) {
    this.host = host;
    this.process = proc;
    this.#socket = socket;
  }

  static async start(opts: LocalGatewayAPIOptions): Promise<LocalGatewayAPI> {
    const { admin, dir } = opts;
    opts.log('installing the Gateway API CRDs (v1.7.0, experimental channel)');
    await installCRDs(admin, await provideGatewayAPICRDs());
    await installCRDs(admin, KUBEGATE_GATEWAY_API_CRDS);
    await admin.apply('/apis/rbac.authorization.k8s.io/v1/clusterroles', gatewayApiClusterRole);
    await admin.apply('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', gatewayApiClusterRoleBinding);
    const pki = join(dir, 'pki', 'gateway-api');
    const cert = await issueCert(pki, 'client', opts.ca, { cn: GATEWAY_API_USER, usage: 'client' });
    const kubeconfig = join(dir, 'gateway-api.kubeconfig');
    await writeKubeconfig(kubeconfig, GATEWAY_API_USER, opts.server, opts.ca.cert, cert);
    const host = await addGatewayHost(opts.lab);
    const port = Number(new URL(opts.server).port);
    const socket = await APISocket.start(join(dir, 'api.sock'), port);
    const proc = startProcess(
      'gateway-api',
      'ip',
      ['netns', 'exec', host.netns, process.execPath, MAIN, 'gateway-api', '--kubeconfig', kubeconfig,
        '--api-socket', socket.path, '--address-pool', host.addressPool], // prettier-ignore
      join(dir, 'logs', 'gateway-api.log'),
    );
    const g = new LocalGatewayAPI(host, proc, socket);
    try {
      const gatewayClass = {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'GatewayClass',
        metadata: { name: DEV_GATEWAY_CLASS },
        spec: {
          controllerName: CONTROLLER_NAME,
          description: 'kubegate dev: Gateways served by kubegate gateway-api',
        },
      };
      await admin.apply('/apis/gateway.networking.k8s.io/v1/gatewayclasses', gatewayClass);
      await g.#waitAccepted(admin);
    } catch (err) {
      await g.stop();
      throw err;
    }
    return g;
  }

  async #waitAccepted(admin: KubeClient, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.process.child.exitCode !== null || this.process.child.signalCode !== null)
        throw new Error('kubegate gateway-api exited during start; see logs/gateway-api.log');
      const gc = await admin.json<{ status?: { conditions?: { type: string; status: string }[] } }>(
        'GET',
        `/apis/gateway.networking.k8s.io/v1/gatewayclasses/${DEV_GATEWAY_CLASS}`,
      );
      if (gc.status?.conditions?.some((c) => c.type === 'Accepted' && c.status === 'True')) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(
      `GatewayClass ${DEV_GATEWAY_CLASS} not Accepted within ${timeoutMs / 1000}s; see logs/gateway-api.log`,
    );
  }

  async stop(): Promise<void> {
    await stopProcess(this.process, 5000);
    await this.#socket.stop();
  }
}
