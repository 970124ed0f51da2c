// IPv4 arithmetic for the lab's addresses and the pods' CIDRs.

/** An IPv4 CIDR split into its network address (as a number) and prefix length. */
export interface Ipv4Cidr {
  readonly network: number;
  readonly prefixLength: number;
  /** Number of addresses in the block. */
  readonly size: number;
}

export class CidrError extends Error {
  override name = 'CidrError';
}

export function ipv4ToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new CidrError(`not an IPv4 address: ${JSON.stringify(ip)}`);
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Parses `a.b.c.d/len`; the address must be the network address of the block. */
export function parseCidr(cidr: string): Ipv4Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  const prefixLength = m ? Number(m[2]) : NaN;
  if (!m || prefixLength > 32) throw new CidrError(`not an IPv4 CIDR: ${JSON.stringify(cidr)}`);
  const size = 2 ** (32 - prefixLength);
  const network = ipv4ToInt(m[1]);
  if (network % size !== 0) throw new CidrError(`${cidr} is not a network address (host bits set)`);
  return { network, prefixLength, size };
}

/** The first host address of a CIDR: the pods' gateway on a node's bridge. */
export function firstHost(cidr: string): string {
  const c = parseCidr(cidr);
  if (c.size < 4) throw new CidrError(`${cidr} is too small for a gateway and pods`);
  return intToIpv4(c.network + 1);
}
