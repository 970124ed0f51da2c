import { setTimeout as sleep } from 'node:timers/promises';

/** One JSON line of a gateway's log. */
export type LogLine = Record<string, unknown>;

/**
 * The lines of `read()` that `pick` selects, once there are at least `count` of them (default 1),
 * or those there are after `ms` (default 10 s): the assertions that follow say what is missing.
 *
 * kubegate writes a request's access line after its response has gone out, with the other lines
 * of that event-loop turn, asynchronously: a log read right after the response may not have it yet.
 */
export async function loggedLines(
  read: () => LogLine[],
  pick: (l: LogLine) => boolean,
  { count = 1, ms = 10_000 }: { count?: number; ms?: number } = {},
): Promise<LogLine[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const lines = read().filter(pick);
    if (lines.length >= count || Date.now() >= deadline) return lines;
    await sleep(50);
  }
}
