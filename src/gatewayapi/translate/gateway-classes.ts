import features from '../supported-features.json' with { type: 'json' };
import type { Condition } from '../objects.ts';
import type { Problem } from './conditions.ts';
import { condition } from './conditions.ts';
import { compareStrings, has, indexBy, meta, rec, str } from './read.ts';

/** The features kubegate claims, sorted, as GatewayClass status lists them. */
export const SUPPORTED_FEATURES: readonly { name: string }[] = [...features.features]
  .sort(compareStrings)
  .map((name) => ({ name }));

export interface GatewayClassResult {
  readonly name: string;
  /** Why Gateways of this class cannot be accepted, or null. */
  readonly problem: Problem | null;
  readonly status: { conditions: Condition[]; supportedFeatures: { name: string }[] };
}

/** Our GatewayClasses (spec.controllerName is ours), by name. */
export function evaluateGatewayClasses(
  classes: readonly unknown[],
  controllerName: string,
): GatewayClassResult[] {
  const ours = indexBy(
    classes.filter((c) => str(rec(rec(c).spec).controllerName) === controllerName),
    (c) => meta(c).name,
  );
  return [...ours.values()]
    .map((c): GatewayClassResult => {
      const m = meta(c);
      const problem: Problem | null = has(rec(rec(c).spec).parametersRef)
        ? { reason: 'InvalidParameters', message: 'parametersRef is not supported by kubegate.' }
        : null;
      const accepted =
        problem === null
          ? condition('Accepted', true, 'Accepted', 'GatewayClass is accepted.', m.generation)
          : condition('Accepted', false, problem.reason, problem.message, m.generation);
      return {
        name: m.name,
        problem,
        status: { conditions: [accepted], supportedFeatures: SUPPORTED_FEATURES.map((f) => ({ ...f })) },
      };
    })
    .sort((a, b) => compareStrings(a.name, b.name));
}
