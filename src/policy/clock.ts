/** Milliseconds on a monotonic clock; injected so tests can drive time. */
export type Now = () => number;

/** The default clock: `performance.now()`, monotonic and unaffected by wall-clock steps. */
export const monotonicNow: Now = () => performance.now();

/**
 * A clock every thread of the process reads alike (CLOCK_MONOTONIC through `process.hrtime`), for
 * state shared between worker threads: `performance.now()` counts from each thread's own start.
 */
export const sharedNow: Now = () => Number(process.hrtime.bigint()) / 1e6;
