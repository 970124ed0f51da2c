// The `cors` field of a TrafficPolicy: the HTTPRoute CORS filter's fields, checked one by one. An
// entry that is wrong is a Problem and is left out (an origin left out gets no CORS headers), the
// rest applies. The data plane serves it with the CORS filter's own code.

import type { CorsIR } from '../ir.ts';
import type { Problem } from './conditions.ts';
import { arr, bool, int, rec } from './read.ts';

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// scheme://host[:port], the host possibly starting with `*.` (any labels in front of the rest).
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/(\*\.)?([a-z0-9-]+\.)*[a-z0-9-]+(:[0-9]{1,5})?$/i;
const ORIGIN_IPV6 = /^[a-z][a-z0-9+.-]*:\/\/\[[0-9a-f:.]+\](:[0-9]{1,5})?$/i;
/** The HTTPRoute CORS filter's default `maxAge`, in seconds. */
const DEFAULT_MAX_AGE = 5;

/** Reads `spec.cors`. */
export function readCors(raw: unknown, problems: Problem[]): CorsIR {
  const c = rec(raw);
  const list = (field: string, ok: (v: string) => boolean): string[] => {
    const out: string[] = [];
    const bad: string[] = [];
    for (const v of arr(c[field])) {
      if (typeof v === 'string' && (v === '*' || ok(v))) {
        if (!out.includes(v)) out.push(v);
      } else bad.push(JSON.stringify(v));
    }
    if (bad.length > 0)
      problems.push({ reason: 'Invalid', message: `cors.${field}: ${bad.slice(0, 3).join(', ')} left out.` });
    return out;
  };
  const allowOrigins = list('allowOrigins', (v) => ORIGIN.test(v) || ORIGIN_IPV6.test(v));
  const allowMethods = list('allowMethods', (v) => TOKEN.test(v));
  const allowHeaders = list('allowHeaders', (v) => TOKEN.test(v));
  const exposeHeaders = list('exposeHeaders', (v) => TOKEN.test(v));
  let maxAge = DEFAULT_MAX_AGE;
  if (c.maxAge !== undefined) {
    const n = int(c.maxAge);
    if (n === undefined || n < 1)
      problems.push({ reason: 'Invalid', message: 'cors.maxAge must be an integer >= 1 (seconds).' });
    else maxAge = n;
  }
  const credentials = bool(c.allowCredentials);
  if (c.allowCredentials !== undefined && credentials === undefined)
    problems.push({ reason: 'Invalid', message: 'cors.allowCredentials must be true or false.' });
  return {
    allowOrigins,
    allowMethods,
    allowHeaders,
    exposeHeaders,
    allowCredentials: credentials === true,
    maxAge,
  };
}
