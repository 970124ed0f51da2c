/** The kubelet's restart back-off: 10 s doubling to 5 min; reset after 10 min of running. */
export const BACKOFF_INITIAL_MS = 10_000;
export const BACKOFF_MAX_MS = 300_000;
const RESET_AFTER_MS = 2 * BACKOFF_MAX_MS;

/**
 * How long to wait before restarting a container that exited. The kubelet restarts the first exit
 * at once (no back-off entry yet) and backs off from the second on, doubling each time.
 */
export class RestartBackoff {
  #next = 0;

  /** The delay before the next start, given how long the last instance ran. */
  delay(ranMs: number): number {
    if (ranMs >= RESET_AFTER_MS) this.#next = 0;
    const d = this.#next;
    this.#next = d === 0 ? BACKOFF_INITIAL_MS : Math.min(d * 2, BACKOFF_MAX_MS);
    return d;
  }
}

/** Whether `restartPolicy` restarts a container that exited with `code`. */
export function shouldRestart(policy: string | undefined, code: number): boolean {
  if (policy === 'Never') return false;
  if (policy === 'OnFailure') return code !== 0;
  return true;
}

/** Resolves after `ms`, or at once (false) when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
