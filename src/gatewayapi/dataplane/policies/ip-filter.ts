import { isIPv4 } from 'node:net';
import { CIDRList } from '../../../routing/cidr.ts';
import type { IPFilterIR } from '../../ir.ts';

/**
 * Allow and deny CIDR lists on the client address: the peer of the connection, never a header
 * (X-Forwarded-For is whatever the client wrote). Deny wins; a non-empty allow list admits only
 * addresses inside it. The lists are the rules' `clientCIDRs` matcher (IPv4-mapped IPv6 is IPv4).
 */
export class IPFilter {
  readonly #allow: CIDRList | null;
  readonly #deny: CIDRList;

  constructor(f: IPFilterIR) {
    this.#allow = f.allow.length === 0 ? null : new CIDRList(f.allow);
    this.#deny = new CIDRList(f.deny);
  }

  /** Whether a client at `address` may pass; an unknown address (a closed socket) may not. */
  admits(address: string | undefined): boolean {
    if (address === undefined || address === '') return false;
    if (this.#deny.has(address)) return false;
    return this.#allow === null || this.#allow.has(address);
  }
}

// A dual-stack socket reports an IPv4 client as `::ffff:a.b.c.d`: an IPv4 rule must apply to it.
/** The client address as IPv4 when it is an IPv4-mapped IPv6 one, with its family. */
export function plain(address: string): [string, 'ipv4' | 'ipv6'] {
  if (isIPv4(address)) return [address, 'ipv4'];
  const lower = address.toLowerCase();
  if (lower.startsWith('::ffff:') && isIPv4(lower.slice(7))) return [lower.slice(7), 'ipv4'];
  return [address, 'ipv6'];
}
