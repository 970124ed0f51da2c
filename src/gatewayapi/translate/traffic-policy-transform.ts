// The `transformation` field of a TrafficPolicy: header set/add/remove in both directions, the
// HTTPRoute header modifier shape (bodies: traffic-policy-body-transform.ts). Values are literal
// text except for a few variables the data plane fills in per request (TRANSFORM_VARIABLES). A
// wrong entry is a Problem and is left out.

import type { HeaderModifierIR, TransformationIR } from '../ir.ts';
import type { Problem } from './conditions.ts';
import { arr, rec } from './read.ts';
import { HEADER_NAME, FRAMING_HEADERS } from './header-names.ts';
import { readBodyTransform } from './traffic-policy-body-transform.ts';

/** The variables a value may hold; nothing else between `%` signs is one. */
export const TRANSFORM_VARIABLES = ['%CLIENT_IP%', '%REQUEST_ID%'] as const;
const VARIABLE = /%[A-Z_]+%/g;
// Printable ASCII and tabs (no CR, LF or NUL: a value may never start another header line).
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;
const MAX_VALUE = 4096;

/** Reads `spec.transformation`. */
export function readTransformation(raw: unknown, problems: Problem[]): TransformationIR {
  const t = rec(raw);
  const out: { -readonly [K in keyof TransformationIR]: TransformationIR[K] } = {
    requestHeaders: modifier(t.requestHeaders, 'transformation.requestHeaders', problems),
    responseHeaders: modifier(t.responseHeaders, 'transformation.responseHeaders', problems),
  };
  const requestBody = readBodyTransform(t.requestBody, 'transformation.requestBody', problems);
  const responseBody = readBodyTransform(t.responseBody, 'transformation.responseBody', problems);
  // Absent unless given, so IRs without one keep their shape.
  if (requestBody !== undefined) out.requestBody = requestBody;
  if (responseBody !== undefined) out.responseBody = responseBody;
  return out;
}

function modifier(raw: unknown, field: string, problems: Problem[]): HeaderModifierIR {
  const m = rec(raw);
  const bad = (message: string) => problems.push({ reason: 'Invalid', message: `${field}.${message}` });
  const names = new Set<string>();
  const pairs = (list: 'set' | 'add') => {
    const out: { name: string; value: string }[] = [];
    arr(m[list]).forEach((e, n) => {
      const { name, value } = rec(e);
      const lower = typeof name === 'string' ? name.toLowerCase() : '';
      if (!HEADER_NAME.test(lower) || FRAMING_HEADERS.has(lower))
        return bad(`${list}[${n}].name ${JSON.stringify(name)} is not a header name a policy may change.`);
      if (typeof value !== 'string' || value.length > MAX_VALUE || !HEADER_VALUE.test(value))
        return bad(`${list}[${n}].value is not printable text of at most ${MAX_VALUE} characters.`);
      const unknown = [...value.matchAll(VARIABLE)]
        .map((v) => v[0])
        .filter((v) => !(TRANSFORM_VARIABLES as readonly string[]).includes(v));
      if (unknown.length > 0)
        return bad(
          `${list}[${n}].value: unknown variable ${unknown[0]} (${TRANSFORM_VARIABLES.join(', ')}).`,
        );
      if (list === 'set' && names.has(lower)) return bad(`set[${n}].name ${lower} is set twice.`);
      names.add(lower);
      out.push({ name: lower, value });
    });
    return out;
  };
  const set = pairs('set');
  const add = pairs('add');
  const remove: string[] = [];
  arr(m.remove).forEach((name, n) => {
    const lower = typeof name === 'string' ? name.toLowerCase() : '';
    if (!HEADER_NAME.test(lower) || FRAMING_HEADERS.has(lower))
      bad(`remove[${n}] ${JSON.stringify(name)} is not a header name a policy may change.`);
    else if (!remove.includes(lower)) remove.push(lower);
  });
  return { set, add, remove };
}
