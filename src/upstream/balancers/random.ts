import type { Balancer, Candidate } from './balancer.ts';

/** Each request to a uniformly random candidate. */
export class RandomBalancer implements Balancer {
  readonly #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  pick<C extends Candidate>(candidates: readonly C[]): C {
    return candidates[Math.floor(this.#random() * candidates.length)];
  }
}
