// `localRateLimit.key` of a TrafficPolicy: what a bucket is per. `ClientIP` (the default) keeps the
// IR as it was; `Header` and `Claim` name the header or the verified JWT claim whose value picks the
// bucket. A bad key is a Problem and the limit still applies, per client address.

import type { RateLimitKeyIR } from '../ir.ts';
import type { Problem } from './conditions.ts';
import { has, rec, text } from './read.ts';
import { HEADER_NAME } from './header-names.ts';

/** Reads `localRateLimit.key`; `hasJWT`: the same policy sets `jwt` (a Claim key needs it). */
export function readRateLimitKey(
  raw: unknown,
  hasJWT: boolean,
  problems: Problem[],
): RateLimitKeyIR | undefined {
  if (raw === undefined) return undefined;
  const k = rec(raw);
  const invalid = (message: string) => {
    problems.push({ reason: 'Invalid', message });
    return undefined;
  };
  if (!has(raw)) return invalid('localRateLimit.key must be an object with a type.');
  switch (k.type) {
    case 'ClientIP':
      return undefined;
    case 'Header': {
      const header = text(k.header)?.toLowerCase();
      if (header === undefined || !HEADER_NAME.test(header))
        return invalid('localRateLimit.key.header must be a header name.');
      return { type: 'Header', header };
    }
    case 'Claim': {
      const claim = text(k.claim);
      if (claim === undefined) return invalid('localRateLimit.key.claim must name a claim.');
      if (!hasJWT)
        problems.push({
          reason: 'Invalid',
          message: 'localRateLimit.key Claim needs jwt in the same policy.',
        });
      return { type: 'Claim', claim };
    }
    default:
      return invalid(`localRateLimit.key.type ${String(k.type)} is not ClientIP, Header or Claim.`);
  }
}
