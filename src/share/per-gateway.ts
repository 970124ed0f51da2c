import type { Gateway } from '../proxy/context.ts';

/** One `T` per gateway, made on first use and forgotten with the gateway. */
export function perGateway<T>(make: (gw: Gateway) => T): (gw: Gateway) => T {
  const byGateway = new WeakMap<Gateway, T>();
  return (gw) => {
    let s = byGateway.get(gw);
    if (s === undefined) byGateway.set(gw, (s = make(gw)));
    return s;
  };
}
