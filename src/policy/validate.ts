// Option checks with precise messages, after Node's lib/internal/validators.js. These guard against
// programmer errors; configuration is validated by its schema before it gets here.

/** Throws unless `value` is an integer in [min, max]. */
export function validateInteger(
  value: unknown,
  name: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number')
    throw new TypeError(`The "${name}" option must be a number. Received ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `The "${name}" option must be an integer >= ${min} and <= ${max}. Received ${value}`,
    );
  }
  return value;
}

/** Throws unless `value` is a number with min < value <= max (Infinity only when max is Infinity). */
export function validatePositive(value: unknown, name: string, max = Number.MAX_VALUE): number {
  if (typeof value !== 'number')
    throw new TypeError(`The "${name}" option must be a number. Received ${typeof value}`);
  if (!(value > 0 && value <= max)) {
    throw new RangeError(`The "${name}" option must be > 0 and <= ${max}. Received ${value}`);
  }
  return value;
}

/** Throws unless `value` is a ratio in (0, 1]. */
export function validateRatio(value: unknown, name: string): number {
  return validatePositive(value, name, 1);
}
