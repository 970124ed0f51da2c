import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The `kubegate dev` folder is missing something the suite needs, or it is not running. */
export class DevStateError extends Error {
  override name = 'DevStateError';
}

/** What the conformance run needs from a running `kubegate dev --gateway-api --dir <dir>`. */
export interface DevLab {
  /** The lab's underlay network namespace (a name under /run/netns), where Gateway addresses route. */
  readonly underlayNetns: string;
  /** The admin kubeconfig for kubegate's gateway in front of kube-apiserver (root namespace). */
  readonly kubeconfig: string;
}

/** The path of a named network namespace, as `ip netns` keeps it. */
export function netnsPath(name: string): string {
  return `/run/netns/${name}`;
}

/** Reads `<dir>/state.json` (`lab.underlayNetns`) and checks the namespace and the kubeconfig exist. */
export async function readDevLab(dir: string): Promise<DevLab> {
  const statePath = join(dir, 'state.json');
  let text: string;
  try {
    text = await readFile(statePath, 'utf8');
  } catch {
    throw new DevStateError(`no ${statePath}: start \`kubegate dev --gateway-api --dir ${dir}\` first`);
  }
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch (err) {
    throw new DevStateError(`${statePath}: ${(err as Error).message}`);
  }
  const lab = (state as { lab?: { underlayNetns?: unknown } } | null)?.lab;
  const underlayNetns = lab?.underlayNetns;
  if (typeof underlayNetns !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(underlayNetns))
    throw new DevStateError(
      `${statePath} has no lab.underlayNetns: was kubegate dev started with --gateway-api?`,
    );
  if (!existsSync(netnsPath(underlayNetns)))
    throw new DevStateError(
      `network namespace ${underlayNetns} (${statePath}) does not exist: is kubegate dev still running?`,
    );
  const kubeconfig = join(dir, 'gateway.kubeconfig');
  if (!existsSync(kubeconfig)) throw new DevStateError(`no ${kubeconfig}`);
  return { underlayNetns, kubeconfig };
}
