import { isIP } from 'node:net';
import { HOST_NAME_PATTERN } from '../schema/cluster.ts';
import type { TranslationReport } from './report.ts';

const HOST_NAME = new RegExp(HOST_NAME_PATTERN);
const MAX_LENGTH = 253;

/** A name KubeGateway serves the cluster under, with the path it came from. */
export interface ServedName {
  value: string;
  at: string;
}

/**
 * The kubegate `hosts` for the names KubeGateway answers on: the object's name and each of
 * `secureServing.serverNames`. KubeGateway looks a cluster up by the TLS server name, or the Host,
 * in lower case and literally; kubegate's `hosts` pick a cluster by SNI and check the Host the same
 * way. A name kubegate cannot list (an IP address, which SNI cannot carry; `*.x`, which KubeGateway
 * never matched but kubegate would take as a pattern; not a DNS name) is reported at its path.
 */
export function translateHosts(names: readonly ServedName[], report: TranslationReport): string[] {
  const hosts: string[] = [];
  for (const { value, at } of names) {
    const host = value.toLowerCase();
    if (host === '') continue;
    if (isIP(host) !== 0) {
      report.unsupportedAt(
        at,
        `"${value}" is an address: KubeGateway serves it to connections without a server name made to that address; kubegate serves a cluster there with a listener bound to it (listeners[].cluster)`,
      );
      continue;
    }
    if (host.startsWith('*.')) {
      report.noteAt(
        at,
        `KubeGateway compares "${value}" literally, so no client ever reached it; not listed in hosts, where it would match every name under it`,
      );
      continue;
    }
    if (host.length > MAX_LENGTH || !HOST_NAME.test(host)) {
      report.unsupportedAt(at, `"${value}" is not a DNS name kubegate can serve under; not listed in hosts`);
      continue;
    }
    if (!hosts.includes(host)) hosts.push(host);
  }
  return hosts;
}
