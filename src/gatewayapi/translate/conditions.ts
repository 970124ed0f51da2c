import type { Condition } from '../objects.ts';

/** A reason and a message for a condition that is not in its good state. */
export interface Problem {
  readonly reason: string;
  readonly message: string;
}

/** A condition with `observedGeneration` set (the status writer adds `lastTransitionTime`). */
export function condition(
  type: string,
  ok: boolean,
  reason: string,
  message: string,
  observedGeneration: number,
): Condition {
  return { type, status: ok ? 'True' : 'False', reason, message, observedGeneration };
}

/** True when `problem` is absent; False with its reason and message otherwise. */
export function conditionFor(
  type: string,
  problem: Problem | null,
  okReason: string,
  okMessage: string,
  observedGeneration: number,
): Condition {
  return problem === null
    ? condition(type, true, okReason, okMessage, observedGeneration)
    : condition(type, false, problem.reason, problem.message, observedGeneration);
}

/** The Gateway API group. */
export const GATEWAY_GROUP = 'gateway.networking.k8s.io';
