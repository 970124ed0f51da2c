/** What a balancer needs to know about an endpoint. */
export interface Candidate {
  readonly name: string;
  /** Short requests in flight. */
  readonly inflight: number;
  /** Long-running requests open. */
  readonly longRunning: number;
}

/** Picks one of the healthy candidates for a request (never called with an empty list). */
export interface Balancer {
  pick<C extends Candidate>(candidates: readonly C[], longRunning: boolean): C;
}

export type BalancerKind = 'round-robin' | 'random' | 'least-request';
