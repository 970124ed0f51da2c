import { constants } from 'node:os';
import type { ExitStatus } from '../types.ts';

/** The status a container runtime reports: the exit code, or 128 + the signal's number when signalled. */
export function exitStatusOf(code: number | null, signal: NodeJS.Signals | null): ExitStatus {
  const finishedAt = new Date();
  if (signal) return { code: 128 + (constants.signals[signal] ?? 0), signal, finishedAt };
  return { code: code ?? 255, signal: null, finishedAt };
}

/**
 * The status of a program run through `script` (TTY): script exits with 128+n when the program was
 * killed by signal n, so such a code is read back as that signal.
 */
export function ptyExitStatusOf(code: number | null, signal: NodeJS.Signals | null): ExitStatus {
  const s = exitStatusOf(code, signal);
  if (s.signal || s.code <= 128) return s;
  const name = (Object.keys(constants.signals) as NodeJS.Signals[]).find(
    (k) => constants.signals[k] === s.code - 128,
  );
  return name ? { ...s, signal: name } : s;
}
