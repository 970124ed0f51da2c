import { isIPv4, isIPv6 } from 'node:net';

/** The words that differ between the IPv4 and the IPv6 proxy table. */
export interface Family {
  readonly table: 'ip' | 'ip6';
  /** The payload keyword in expressions (`ip saddr`, `ip6 saddr`). */
  readonly expr: 'ip' | 'ip6';
  readonly addrType: 'ipv4_addr' | 'ipv6_addr';
  /** EndpointSlice `addressType`. */
  readonly sliceType: 'IPv4' | 'IPv6';
  /** `dnat ip to 10.0.0.1:80`, `dnat ip6 to [fd00::1]:80`. */
  hostPort(ip: string, port: number): string;
}

export const IPV4: Family = {
  table: 'ip',
  expr: 'ip',
  addrType: 'ipv4_addr',
  sliceType: 'IPv4',
  hostPort: (ip, port) => `${ip}:${port}`,
};

export const IPV6: Family = {
  table: 'ip6',
  expr: 'ip6',
  addrType: 'ipv6_addr',
  sliceType: 'IPv6',
  hostPort: (ip, port) => `[${ip}]:${port}`,
};

/**
 * The family of an address or CIDR, or null when it is neither (e.g. `None`, empty, `999.1.1.1`):
 * anything that reaches an nft element must parse, or the whole transaction fails.
 */
export function familyOf(address: unknown): Family | null {
  if (typeof address !== 'string') return null;
  const slash = address.indexOf('/');
  const ip = slash < 0 ? address : address.slice(0, slash);
  const bits = slash < 0 ? null : address.slice(slash + 1);
  const f = isIPv4(ip) ? IPV4 : isIPv6(ip) ? IPV6 : null;
  if (f === null || bits === null) return f;
  const max = f === IPV4 ? 32 : 128;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= max ? f : null;
}

/** A TCP/UDP port number (1–65535). */
export function isPort(p: unknown): p is number {
  return typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535;
}

/** `v` if it is an array, else empty: objects from the API are trusted for shape only this far. */
export function list<T>(v: readonly T[] | null | undefined): readonly T[] {
  return Array.isArray(v) ? v : [];
}
