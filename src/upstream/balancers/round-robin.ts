import type { Balancer, Candidate } from './balancer.ts';

/** Each request to the next candidate in turn. */
export class RoundRobinBalancer implements Balancer {
  #next = 0;

  pick<C extends Candidate>(candidates: readonly C[]): C {
    const c = candidates[this.#next % candidates.length];
    this.#next = (this.#next + 1) % 0x7fffffff;
    return c;
  }
}
