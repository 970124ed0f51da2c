// A two-node lab for the kernel tests: node namespaces on an underlay (src/dev/lab), pods as
// network namespaces on each node's bridge running pod-agent.ts, and the compiled policy table
// applied to each node with `nft -f -`.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createLab, destroyLab, runCommand, type Lab } from '../../../../../src/dev/lab/index.ts';
import { createPodSandbox } from '../../../../../src/dev/podlet/runtime/sandbox.ts';
import { renderTables } from '../../../../../src/node/nft/render.ts';
import {
  networkPolicyTables,
  type Namespace,
  type NetworkPolicy,
  type Pod,
  type PolicyProblem,
} from '../../../../../src/node/policy/index.ts';
import type { ProbeAnswer, ProbeCommand } from './pod-agent.ts';

const agentPath = fileURLToPath(new URL('./pod-agent.ts', import.meta.url));

export interface LabPod {
  readonly key: string;
  readonly node: string;
  readonly ip: string;
  readonly ip6: string | undefined;
  readonly object: Pod;
  readonly agent: ChildProcess;
  readonly pending: Map<number, (a: ProbeAnswer) => void>;
}

/** The container ports every lab pod declares (and pod-agent.ts serves). */
export const labPorts = [
  { name: 'serve-80-tcp', containerPort: 80, protocol: 'TCP' },
  { name: 'serve-81-tcp', containerPort: 81, protocol: 'TCP' },
  { name: 'serve-80-udp', containerPort: 80, protocol: 'UDP' },
  { name: 'serve-81-udp', containerPort: 81, protocol: 'UDP' },
];

export function podObject(
  key: string,
  node: string,
  ips: readonly string[],
  labels: Record<string, string>,
): Pod {
  const [namespace = '', name = ''] = key.split('/');
  return {
    metadata: { namespace, name, labels },
    spec: { nodeName: node, containers: [{ name: 'c', ports: labPorts }] },
    status: { phase: 'Running', podIP: ips[0] ?? '', podIPs: ips.map((ip) => ({ ip })) },
  };
}

export class PolicyLab {
  readonly lab: Lab;
  readonly pods = new Map<string, LabPod>();
  /** IPv6 pod CIDRs of the nodes that have one (same-node IPv6 only: the underlay is IPv4). */
  readonly podCIDRs6 = new Map<string, string>();
  private nextId = 1;

  private constructor(lab: Lab) {
    this.lab = lab;
  }

  /** Nodes `node-1` (10.244.1.0/24) and `node-2` (10.244.2.0/24). */
  static async create(prefix: string): Promise<PolicyLab> {
    const lab = await createLab({ prefix, nodes: ['node-1', 'node-2'] });
    try {
      await lab.setPodCIDR('node-1', '10.244.1.0/24');
      await lab.setPodCIDR('node-2', '10.244.2.0/24');
    } catch (err) {
      await destroyLab(prefix);
      throw err;
    }
    return new PolicyLab(lab);
  }

  /** Gives a node's bridge `<prefix>::1/64` of `cidr` and turns on IPv6 forwarding and br_netfilter for it. */
  async enableIPv6(node: string, cidr: string): Promise<void> {
    const n = this.lab.node(node);
    const sysctl = (key: string): Promise<string> =>
      runCommand('ip', ['netns', 'exec', n.netns, 'sysctl', '-qw', `${key}=1`]);
    await sysctl('net.ipv6.conf.all.forwarding');
    await sysctl('net.bridge.bridge-nf-call-ip6tables');
    await runCommand('ip', [
      '-n',
      n.netns,
      'addr',
      'add',
      `${cidr.split('/')[0]}1/64`,
      'dev',
      n.bridge,
      'nodad',
    ]);
    this.podCIDRs6.set(node, cidr);
  }

  async addPod(
    key: string,
    node: string,
    ip: string,
    labels: Record<string, string>,
    ip6?: string,
  ): Promise<void> {
    const n = this.lab.node(node);
    const netns = `${this.lab.prefix}-${key.replace('/', '-')}`;
    await createPodSandbox({
      nodeNetns: n.netns,
      bridge: n.bridge,
      netns,
      ip,
      prefixLength: 24,
      gateway: n.gateway ?? '',
    });
    const cidr6 = this.podCIDRs6.get(node);
    if (ip6 !== undefined && cidr6 !== undefined) {
      await runCommand('ip', ['-n', netns, 'addr', 'add', `${ip6}/64`, 'dev', 'eth0', 'nodad']);
      await runCommand('ip', [
        '-n',
        netns,
        '-6',
        'route',
        'add',
        'default',
        'via',
        `${cidr6.split('/')[0]}1`,
      ]);
    }
    const agent = spawn('ip', ['netns', 'exec', netns, process.execPath, agentPath], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const pending = new Map<number, (a: ProbeAnswer) => void>();
    const lines = createInterface({ input: agent.stdout ?? process.stdin });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`pod agent ${key} did not start`)), 10_000);
      lines.on('line', (line) => {
        if (line === 'ready') {
          clearTimeout(timer);
          resolve();
          return;
        }
        const a = JSON.parse(line) as ProbeAnswer;
        pending.get(a.id)?.(a);
        pending.delete(a.id);
      });
    });
    const ips = ip6 === undefined ? [ip] : [ip, ip6];
    this.pods.set(key, { key, node, ip, ip6, object: podObject(key, node, ips, labels), agent, pending });
  }

  private send(from: string, cmd: Omit<ProbeCommand, 'id'>): Promise<ProbeAnswer> {
    const pod = this.pod(from);
    const id = this.nextId++;
    return new Promise((resolve) => {
      pod.pending.set(id, resolve);
      pod.agent.stdin?.write(`${JSON.stringify({ ...cmd, id })}\n`);
    });
  }

  pod(key: string): LabPod {
    const pod = this.pods.get(key);
    if (pod === undefined) throw new Error(`no lab pod ${key}`);
    return pod;
  }

  /** Whether a new connection (TCP) or datagram exchange (UDP) from `from` to `to` succeeds. */
  async reach(
    from: string,
    to: string,
    protocol: 'tcp' | 'udp' = 'tcp',
    port = 80,
    timeoutMs = 2000,
  ): Promise<boolean> {
    const a = await this.send(from, { op: 'probe', protocol, host: this.pod(to).ip, port, timeoutMs });
    return a.ok;
  }

  /** As `reach`, to the IPv6 address of `to`. */
  async reach6(
    from: string,
    to: string,
    protocol: 'tcp' | 'udp' = 'tcp',
    port = 80,
    timeoutMs = 2000,
  ): Promise<boolean> {
    const host = this.pod(to).ip6;
    if (host === undefined) throw new Error(`lab pod ${to} has no IPv6 address`);
    return (await this.send(from, { op: 'probe', protocol, host, port, timeoutMs })).ok;
  }

  /** Opens a TCP connection that later `echo` calls reuse. */
  async open(from: string, to: string, conn: string, port = 80): Promise<boolean> {
    return (await this.send(from, { op: 'open', host: this.pod(to).ip, port, conn, timeoutMs: 1000 })).ok;
  }

  async echo(from: string, conn: string): Promise<boolean> {
    return (await this.send(from, { op: 'send', conn, timeoutMs: 1000 })).ok;
  }

  /**
   * Compiles the policies for each node, with `pods` (default: every lab pod) as the cluster's
   * pods, and applies the result to that node's namespace in one `nft -f -`.
   */
  async apply(
    networkPolicies: readonly NetworkPolicy[],
    namespaces: readonly Namespace[],
    pods: readonly Pod[] = [...this.pods.values()].map((p) => p.object),
  ): Promise<PolicyProblem[]> {
    const problems: PolicyProblem[] = [];
    for (const node of this.lab.nodes) {
      const out = networkPolicyTables({
        nodeName: node.name,
        nodeIPs: [node.ip],
        podCIDRs: [node.podCIDR, this.podCIDRs6.get(node.name)].filter((c): c is string => c !== undefined),
        pods,
        namespaces,
        networkPolicies,
      });
      if (node === this.lab.nodes[0]) problems.push(...out.problems);
      await runCommand('ip', ['netns', 'exec', node.netns, 'nft', '-f', '-'], renderTables(out.tables));
    }
    return problems;
  }

  /**
   * Stands in for the Service proxy on `node`: `vip` is DNATed to the pod `to` before routing
   * (prerouting, -100) and a pod reaching itself that way is masqueraded; `vip` becomes a lab "pod".
   */
  async addServiceAddress(node: string, vip: string, to: string): Promise<void> {
    const ip = this.pod(to).ip;
    const table = [
      'table ip kgtest-svc {',
      `  chain pre { type nat hook prerouting priority -100; policy accept; ip daddr ${vip} dnat to ${ip}; }`,
      `  chain post { type nat hook postrouting priority 100; policy accept; ct status dnat ip saddr ${ip} ip daddr ${ip} masquerade; }`,
      '}',
    ];
    const netns = this.lab.node(node).netns;
    await runCommand('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], table.join('\n') + '\n');
    this.pods.set(vip, { ...this.pod(to), key: vip, ip: vip });
  }

  /** Runs `nft` in a node's namespace. */
  nft(node: string, ...args: string[]): Promise<string> {
    return runCommand('ip', ['netns', 'exec', this.lab.node(node).netns, 'nft', ...args]);
  }

  async destroy(): Promise<void> {
    for (const pod of this.pods.values()) pod.agent.stdin?.end();
    await destroyLab(this.lab.prefix);
  }
}
