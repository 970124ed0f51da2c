import type { Balancer, Candidate } from './balancer.ts';

/**
 * Power of two choices: of two random candidates, the one with fewer requests open. Long-running
 * requests (watches) are compared by how many long-running requests each endpoint holds, so watches
 * spread evenly even though they never finish.
 */
export class LeastRequestBalancer implements Balancer {
  readonly #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  pick<C extends Candidate>(candidates: readonly C[], longRunning: boolean): C {
    const n = candidates.length;
    if (n === 1) return candidates[0];
    const i = Math.floor(this.#random() * n);
    let j = Math.floor(this.#random() * (n - 1));
    if (j >= i) j++;
    const a = candidates[i];
    const b = candidates[j];
    if (longRunning) return b.longRunning < a.longRunning ? b : a;
    return b.inflight < a.inflight ? b : a;
  }
}
