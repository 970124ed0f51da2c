/** Milliseconds on a monotonic clock; injected so tests can drive time. */
export type Now = () => number;

/** The default clock: `performance.now()`, monotonic and unaffected by wall-clock steps. */
export const monotonicNow: Now = () => performance.now();
