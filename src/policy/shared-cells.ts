// Helpers for state kept in SharedArrayBuffers, read and written by several threads at once.

const scratchF = new Float64Array(1);
const scratchB = new BigInt64Array(scratchF.buffer);

/**
 * The bits of a double as a BigInt64, so a float (a GCRA `tat`) can live in a BigInt64Array cell
 * and be swapped with `Atomics.compareExchange` (which takes integer arrays only). Bit-exact: the
 * shared limiters compute with the same doubles as the local ones.
 * @internal
 */
export function floatBits(x: number): bigint {
  scratchF[0] = x;
  return scratchB[0];
}

/** @internal The double whose bits `floatBits` returned. */
export function bitsFloat(bits: bigint): number {
  scratchB[0] = bits;
  return scratchF[0];
}

/** Throws unless `buffer` is a SharedArrayBuffer of at least `bytes` bytes. */
export function validateSharedBuffer(buffer: unknown, name: string, bytes: number): SharedArrayBuffer {
  if (!(buffer instanceof SharedArrayBuffer))
    throw new TypeError(`The "${name}" option must be a SharedArrayBuffer`);
  if (buffer.byteLength < bytes)
    throw new RangeError(
      `The "${name}" option must be at least ${bytes} bytes long. Received ${buffer.byteLength}`,
    );
  return buffer;
}
