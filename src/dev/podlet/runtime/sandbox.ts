import { createHash } from 'node:crypto';
import { addNetns, deleteNetns, ipBatch, ipIn, netnsExists, netnsPids } from '../../lab/index.ts';
import type { PodSandbox } from '../types.ts';

export interface PodSandboxOptions {
  /** The node's network namespace (holds `bridge`). */
  readonly nodeNetns: string;
  readonly bridge: string;
  /** Name for the pod's namespace; must carry the run's prefix and be unique. */
  readonly netns: string;
  readonly ip: string;
  readonly prefixLength: number;
  readonly gateway: string;
  /** Called once by destroy() (e.g. to release the IP in the node's PodIPAM). */
  readonly release?: () => void;
}

export class SandboxError extends Error {
  override name = 'SandboxError';
}

/** The node-side veth name of a pod: `kg` + 12 hex of sha256(netns): fits IFNAMSIZ, unique per node. */
export function hostVethName(netns: string): string {
  return `kg${createHash('sha256').update(netns).digest('hex').slice(0, 12)}`;
}

/**
 * Creates the pod's network namespace with `eth0` (a veth whose peer joins the node's bridge, in
 * hairpin mode so a pod can reach itself through a Service), loopback up, the pod IP, and a default
 * route via the gateway. The veth is created inside the node namespace and its pod end moved straight
 * into the pod namespace: nothing touches the root namespace.
 */
export async function createPodSandbox(opts: PodSandboxOptions): Promise<PodSandbox> {
  const { nodeNetns, bridge, netns, ip, prefixLength, gateway } = opts;
  if (!netnsExists(nodeNetns)) throw new SandboxError(`node network namespace ${nodeNetns} does not exist`);
  if (netnsExists(netns)) {
    // Left by a podlet that died (its containers died with it): nothing runs inside, so it is stale.
    const pids = await netnsPids(netns);
    if (pids.length) {
      throw new SandboxError(
        `pod network namespace ${netns} already exists, in use by pids ${pids.join(' ')}`,
      );
    }
    await ipIn(nodeNetns, 'link', 'del', hostVethName(netns)).catch(() => undefined);
    await deleteNetns(netns);
  }
  const veth = hostVethName(netns);
  let released = false;
  let destroying: Promise<void> | undefined;
  const destroy = (): Promise<void> => {
    destroying ??= (async () => {
      await ipIn(nodeNetns, 'link', 'del', veth).catch(() => undefined);
      await deleteNetns(netns);
      if (!released) {
        released = true;
        opts.release?.();
      }
    })().catch((err: unknown) => {
      destroying = undefined; // a later destroy() tries again
      throw new SandboxError(`destroying pod sandbox ${netns}: ${(err as Error).message}`, { cause: err });
    });
    return destroying;
  };
  try {
    await addNetns(netns);
    await ipBatch(nodeNetns, [
      ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns],
      ['link', 'set', veth, 'master', bridge],
      // Hairpin: a pod reaching itself through a Service address comes back out of its own port.
      ['link', 'set', veth, 'type', 'bridge_slave', 'hairpin', 'on'],
      ['link', 'set', veth, 'up'],
    ]);
    await ipBatch(netns, [
      ['addr', 'add', `${ip}/${prefixLength}`, 'dev', 'eth0'],
      ['link', 'set', 'eth0', 'up'],
      ['route', 'add', 'default', 'via', gateway],
    ]);
  } catch (err) {
    await destroy().catch(() => undefined);
    throw new SandboxError(`creating pod sandbox ${netns} on ${nodeNetns}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return { netns, ip, destroy };
}
