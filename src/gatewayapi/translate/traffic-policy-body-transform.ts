// The body half of a TrafficPolicy's `transformation`: `requestBody.set` and `responseBody.set`
// replace a whole body with literal text, kgateway's `body: { parseAs: AsString, value }` without a
// template. Nothing in the text is expanded (no variables); a wrong entry is a Problem and left out.

import type { BodyTransformIR } from '../ir.ts';
import type { Problem } from './conditions.ts';
import { rec } from './read.ts';

/** The largest literal body, in UTF-8 bytes: it is held in memory once per route. */
export const MAX_BODY_BYTES = 65_536;

/** Reads `transformation.requestBody` or `.responseBody` (`field`); undefined when absent or wrong. */
export function readBodyTransform(
  raw: unknown,
  field: string,
  problems: Problem[],
): BodyTransformIR | undefined {
  if (raw === undefined || raw === null) return undefined;
  const set = rec(raw).set;
  if (typeof set !== 'string' || Buffer.byteLength(set, 'utf8') > MAX_BODY_BYTES) {
    problems.push({
      reason: 'Invalid',
      message: `${field}.set must be text of at most ${MAX_BODY_BYTES} bytes (UTF-8).`,
    });
    return undefined;
  }
  return { set };
}
