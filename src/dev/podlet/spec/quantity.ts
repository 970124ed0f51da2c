// Kubernetes resource quantities (`500m`, `1Gi`, `2.5`, `1e3`) as exact fractions, and the kubelet's
// downward-API rendering of them (pkg/api/v1/resource: ceil(value / divisor)).

/** An exact non-negative-or-negative rational `num / den`. */
export interface Quantity {
  readonly num: bigint;
  readonly den: bigint;
}

const BINARY: Record<string, bigint> = { Ki: 10n, Mi: 20n, Gi: 30n, Ti: 40n, Pi: 50n, Ei: 60n };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** Parses a quantity; throws on a malformed one (the API server would have rejected it). */
export function parseQuantity(text: string): Quantity {
  const m = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(.*)$/.exec(text.trim());
  if (!m)
    throw new Error(
      `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
    );
  const [, sign, number, suffix] = m;
  const [whole, frac = ''] = number.split('.');
  let num = BigInt((whole || '0') + frac) * (sign === '-' ? -1n : 1n);
  let den = 10n ** BigInt(frac.length);
  if (suffix in BINARY) {
    num *= 2n ** BINARY[suffix];
  } else {
    let exp: number;
    if (suffix in DECIMAL) exp = DECIMAL[suffix];
    else if (/^[eE][+-]?\d+$/.test(suffix)) exp = Number(suffix.slice(1));
    else throw new Error(`unable to parse quantity's suffix`);
    if (exp >= 0) num *= 10n ** BigInt(exp);
    else den *= 10n ** BigInt(-exp);
  }
  return { num, den };
}

/** ceil(a / b) for b > 0. */
function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a > 0n ? q + 1n : q;
}

/** Quantity.Value(): the value rounded up to an integer. */
export function value(q: Quantity): bigint {
  return ceilDiv(q.num, q.den);
}

/** Quantity.MilliValue(): the value in thousandths, rounded up. */
export function milliValue(q: Quantity): bigint {
  return ceilDiv(q.num * 1000n, q.den);
}

/**
 * The kubelet's rendering of a resource for env and downward-API files: CPU in whole units of the
 * divisor's millis, everything else in whole units of the divisor, both rounded up. A zero or missing
 * divisor means 1.
 */
export function renderResource(
  resource: string,
  amount: string | undefined,
  divisor: string | undefined,
): string {
  const q = parseQuantity(amount ?? '0');
  let d = parseQuantity(divisor ?? '0');
  if (d.num === 0n) d = { num: 1n, den: 1n };
  if (resource === 'cpu') return ceilDiv(milliValue(q), milliValue(d)).toString();
  return ceilDiv(value(q), value(d)).toString();
}
