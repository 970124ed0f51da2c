import type { V1ContainerPort } from '@kubernetes/client-node';
import { isIPv6 } from 'node:net';

// What the probe kinds share: port resolution, Go's wording of socket errors, timeouts.

export const PROBE_USER_AGENT = 'kube-probe/1.37';
/** The kubelet keeps at most this much of a response body or command output. */
export const MAX_OUTPUT = 10 * 1024;

/** probe.ResolveContainerPort: a number, or the name of one of the container's ports. */
export function resolvePort(port: number | string, ports: readonly V1ContainerPort[]): number {
  let n: number;
  if (typeof port === 'number') n = port;
  else {
    const named = ports.find((p) => p.name === port);
    if (named) n = named.containerPort;
    else if (/^[+-]?\d+$/.test(port)) n = Number(port);
    else throw new Error(`port ${port} not found`);
  }
  if (n > 0 && n < 65536) return n;
  throw new Error(`invalid port number: ${n}`);
}

export const hostPort = (host: string, port: number): string =>
  isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;

/** Go's wording of common socket errors. */
export function netError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ECONNREFUSED':
      return 'connect: connection refused';
    case 'EHOSTUNREACH':
      return 'connect: no route to host';
    case 'ENETUNREACH':
      return 'connect: network is unreachable';
    case 'ETIMEDOUT':
      return 'i/o timeout';
    case 'ECONNRESET':
      return 'read: connection reset by peer';
  }
  return e?.message ?? String(err);
}

export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => resolve(onTimeout()), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}
