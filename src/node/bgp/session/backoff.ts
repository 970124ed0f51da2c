/**
 * The delay before the next connection attempt: RFC 4271 §10 jitters ConnectRetry to 75–100 % of its
 * value, and a peer that keeps failing before it stays up is damped by doubling the delay per
 * failure (§8.1.1 DampPeerOscillations), up to a ceiling.
 */
export function retryDelay(
  baseMs: number,
  failures: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const damped = Math.min(maxMs, baseMs * 2 ** Math.min(failures, 16));
  return Math.round(damped * (0.75 + 0.25 * random()));
}
