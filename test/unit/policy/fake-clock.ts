/** A clock that moves only when told to, for the policy primitives' `now` option. */
export class FakeClock {
  t = 0;
  readonly now = (): number => this.t;

  advance(ms: number): void {
    this.t += ms;
  }
}

/** A seeded PRNG (mulberry32), so property-style tests repeat exactly. */
export function seededRandom(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
