import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { HeaderModifierIR, TransformationIR } from '../../ir.ts';
import { modifyHeaders, type HeaderMap } from '../headers.ts';

// The variables of translate/traffic-policy-transform.ts. Values are split once, at compile time,
// into literal text and variables; only a modifier that holds a variable is rebuilt per request.
const VARIABLE = /(%CLIENT_IP%|%REQUEST_ID%)/;

type Part = string | { readonly variable: string };
interface Entry {
  readonly name: string;
  readonly parts: readonly Part[];
}

/** The request ID `%REQUEST_ID%` stands for: one per request, the same in both directions. */
const requestIds = new WeakMap<IncomingMessage, string>();

function variable(name: string, req: IncomingMessage): string {
  if (name === '%CLIENT_IP%') {
    const a = req.socket.remoteAddress ?? '';
    return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
  }
  let id = requestIds.get(req);
  if (id === undefined) requestIds.set(req, (id = randomUUID()));
  return id;
}

/** One direction's header changes; with the header modifier code of the HTTPRoute filters. */
class Direction {
  /** The whole modifier when no value holds a variable. */
  readonly #fixed: HeaderModifierIR | null;
  readonly #set: readonly Entry[];
  readonly #add: readonly Entry[];
  readonly #remove: readonly string[];

  constructor(m: HeaderModifierIR) {
    const entries = (list: HeaderModifierIR['set']) =>
      list.map((e) => ({
        name: e.name.toLowerCase(),
        parts: e.value
          .split(VARIABLE)
          .filter((p) => p !== '')
          .map((p): Part => (VARIABLE.test(p) && p.startsWith('%') ? { variable: p } : p)),
      }));
    this.#set = entries(m.set);
    this.#add = entries(m.add);
    this.#remove = m.remove.map((n) => n.toLowerCase());
    const literal = [...this.#set, ...this.#add].every((e) => e.parts.every((p) => typeof p === 'string'));
    this.#fixed = literal
      ? {
          set: this.#set.map((e) => ({ name: e.name, value: e.parts.join('') })),
          add: this.#add.map((e) => ({ name: e.name, value: e.parts.join('') })),
          remove: this.#remove,
        }
      : null;
  }

  apply(h: HeaderMap, req: IncomingMessage): void {
    if (this.#fixed !== null) return modifyHeaders(h, this.#fixed);
    const value = (e: Entry) => ({
      name: e.name,
      value: e.parts.map((p) => (typeof p === 'string' ? p : variable(p.variable, req))).join(''),
    });
    modifyHeaders(h, { set: this.#set.map(value), add: this.#add.map(value), remove: this.#remove });
  }
}

/**
 * A TrafficPolicy's `transformation`: header set, add and remove on the request before the route's
 * own header filters, and on the backend's response before the route's response filters. Headers
 * are keyed by lower-case name with repeated lines together, so a remove takes every copy in any case.
 */
export class HeaderTransform {
  readonly #request: Direction;
  readonly #response: Direction;

  constructor(t: TransformationIR) {
    this.#request = new Direction(t.requestHeaders);
    this.#response = new Direction(t.responseHeaders);
  }

  request(h: HeaderMap, req: IncomingMessage): void {
    this.#request.apply(h, req);
  }

  response(h: HeaderMap, req: IncomingMessage): void {
    this.#response.apply(h, req);
  }
}
