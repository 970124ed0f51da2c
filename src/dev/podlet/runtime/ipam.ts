import { intToIpv4, parseCidr } from '../../lab/index.ts';

/**
 * Pod addresses of one node's pod CIDR, handed out by key (e.g. pod UID). Skips the network address,
 * the gateway (first host, on the node's bridge) and the broadcast address. Allocating the same key
 * twice returns the same address; released addresses come back after the
 * others (allocation goes round the block).
 */
export class PodIPAM {
  readonly cidr: string;
  readonly prefixLength: number;
  /** The first host: the node bridge's address, the pods' default gateway. */
  readonly gateway: string;
  readonly #first: number;
  readonly #last: number;
  readonly #byKey = new Map<string, number>();
  readonly #used = new Set<number>();
  #next: number;

  constructor(cidr: string) {
    const c = parseCidr(cidr);
    if (c.size < 4) throw new RangeError(`pod CIDR ${cidr} has no room for pods`);
    this.cidr = cidr;
    this.prefixLength = c.prefixLength;
    this.gateway = intToIpv4(c.network + 1);
    this.#first = c.network + 2;
    this.#last = c.network + c.size - 2;
    this.#next = this.#first;
  }

  /** The key's address (the same one again for a known key), or null when the CIDR is full. */
  allocate(key: string): string | null {
    const had = this.#byKey.get(key);
    if (had !== undefined) return intToIpv4(had);
    const count = this.#last - this.#first + 1;
    for (let i = 0; i < count; i++) {
      const n = this.#first + ((this.#next - this.#first + i) % count);
      if (this.#used.has(n)) continue;
      this.#used.add(n);
      this.#byKey.set(key, n);
      this.#next = n === this.#last ? this.#first : n + 1;
      return intToIpv4(n);
    }
    return null;
  }

  /** Frees the key's address; unknown keys are ignored. */
  release(key: string): void {
    const n = this.#byKey.get(key);
    if (n === undefined) return;
    this.#byKey.delete(key);
    this.#used.delete(n);
  }

  /** The key's address, if allocated. */
  get(key: string): string | undefined {
    const n = this.#byKey.get(key);
    return n === undefined ? undefined : intToIpv4(n);
  }
}
