import type { Balancer, BalancerKind } from './balancer.ts';
import { LeastRequestBalancer } from './least-request.ts';
import { RandomBalancer } from './random.ts';
import { RoundRobinBalancer } from './round-robin.ts';

export type { Balancer, BalancerKind, Candidate } from './balancer.ts';
export { LeastRequestBalancer, RandomBalancer, RoundRobinBalancer };

/** The balancer named in configuration. */
export function createBalancer(kind: BalancerKind): Balancer {
  switch (kind) {
    case 'round-robin':
      return new RoundRobinBalancer();
    case 'random':
      return new RandomBalancer();
    case 'least-request':
      return new LeastRequestBalancer();
  }
}
