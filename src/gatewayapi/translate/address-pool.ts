// The IPv4 pool Gateways get their addresses from. Addresses are sticky: a Gateway keeps the address
// its status already shows while that address is in the pool and no older Gateway holds it; the rest
// get the lowest free address. Requested (`spec.addresses`) addresses must be in the pool and free.

/** One Gateway's claim on the pool, in the order Gateways are served (oldest first). */
export interface AddressClaim {
  /** IPAddress values from `spec.addresses`; empty values (GatewayAddressEmpty) are `null`. */
  readonly requested: readonly (string | null)[];
  /** `status.addresses` values from the last status write. */
  readonly current: readonly string[];
}

/** The addresses handed out, or why there are none. */
export type AddressGrant =
  | { readonly addresses: readonly string[] }
  | { readonly reason: 'AddressNotAssigned' | 'AddressNotUsable'; readonly message: string };

interface Pool {
  readonly first: number;
  readonly last: number;
}

/** Parses dotted-quad IPv4; null for anything else. */
export function parseIPv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return null;
    n = n * 256 + Number(p);
  }
  return n;
}

function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The usable range of a CIDR (network and broadcast skipped below /31); null when it is not one. */
export function parsePool(cidr: string): Pool | null {
  const [addr, bitsText, extra] = cidr.split('/');
  const base = parseIPv4(addr ?? '');
  if (base === null || extra !== undefined || !/^[0-9]{1,2}$/.test(bitsText ?? '')) return null;
  const bits = Number(bitsText);
  if (bits > 32) return null;
  const size = 2 ** (32 - bits);
  const network = base - (base % size);
  if (bits >= 31) return { first: network, last: network + size - 1 };
  return { first: network + 1, last: network + size - 2 };
}

/** Hands out addresses to every claim, in order; the answer is parallel to `claims`. */
export function assignAddresses(cidr: string, claims: readonly AddressClaim[]): AddressGrant[] {
  const pool = parsePool(cidr);
  const inPool = (n: number | null): n is number =>
    n !== null && pool !== null && n >= pool.first && n <= pool.last;
  const taken = new Set<number>();
  const refused: (AddressGrant | null)[] = claims.map(() => null);
  const held: number[][] = claims.map(() => []);
  const wanted = claims.map((c) => [...new Set(c.requested.filter((v): v is string => v !== null))]);
  // No spec.addresses: one address from the pool; else one per empty (value-less) entry.
  const dynamic = claims.map((c) =>
    c.requested.length === 0 ? 1 : c.requested.filter((v) => v === null).length,
  );

  // Pass 1: requested addresses and addresses already held, oldest Gateway first.
  claims.forEach((claim, i) => {
    for (const value of wanted[i]) {
      const n = parseIPv4(value);
      if (!inPool(n) || taken.has(n)) {
        const why = inPool(n) ? 'is in use by another Gateway' : 'is not in the address pool';
        refused[i] = { reason: 'AddressNotUsable', message: `Requested address ${value} ${why}.` };
        return;
      }
    }
    for (const value of wanted[i]) held[i].push(parseIPv4(value) as number);
    for (const n of held[i]) taken.add(n);
    let kept = 0;
    for (const value of claim.current) {
      const n = parseIPv4(value);
      if (kept >= dynamic[i] || !inPool(n) || taken.has(n)) continue;
      taken.add(n);
      held[i].push(n);
      kept++;
    }
  });

  // Pass 2: the lowest free addresses for what is still missing.
  let next = pool?.first ?? 0;
  return claims.map((_, i) => {
    const no = refused[i];
    if (no !== null) return no;
    while (held[i].length < wanted[i].length + dynamic[i]) {
      while (pool !== null && next <= pool.last && taken.has(next)) next++;
      if (pool === null || next > pool.last) {
        for (const n of held[i]) taken.delete(n);
        next = pool?.first ?? 0;
        return { reason: 'AddressNotAssigned', message: `The address pool ${cidr} has no free address.` };
      }
      taken.add(next);
      held[i].push(next);
    }
    return { addresses: [...held[i]].sort((a, b) => a - b).map(formatIPv4) };
  });
}
