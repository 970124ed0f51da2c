import { execFile } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';

/** Quotes a word for /bin/sh. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Wraps argv so it runs on a fresh pseudo-terminal (util-linux `script`): `script` relays the pty to
 * its own stdin/stdout pipes and exits with the program's status. The program is then a child of
 * `script` (the pid reported is script's; it forwards SIGTERM and the pty hangup ends the program).
 */
export function onPty(argv: readonly string[]): string[] {
  return ['/usr/bin/script', '-q', '-e', '-c', `exec ${argv.map(shellQuote).join(' ')}`, '/dev/null'];
}

/** The pid of the program `script` runs on the pty (its only child), or null once it is gone. */
export function ptyProgram(scriptPid: number): number | null {
  try {
    // Before the container's setup step has exec'd script, its children are setup commands.
    if (readFileSync(`/proc/${scriptPid}/comm`, 'utf8').trim() !== 'script') return null;
    const first = readFileSync(`/proc/${scriptPid}/task/${scriptPid}/children`, 'utf8')
      .trim()
      .split(/\s+/)[0];
    return first ? Number(first) : null;
  } catch {
    return null;
  }
}

/**
 * Sends a signal to a program started through `onPty` (not to `script`, which would answer SIGTERM by
 * killing the program itself after 2 s and exit 0); script then exits with 128+signal.
 */
export function signalPtyProgram(scriptPid: number, signal: NodeJS.Signals): void {
  const target = ptyProgram(scriptPid) ?? scriptPid;
  try {
    process.kill(target, signal);
  } catch {
    // already gone
  }
  if (signal === 'SIGKILL' && target !== scriptPid) {
    try {
      process.kill(scriptPid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Resizes the pty of a program started through `onPty`: finds the terminal on the stdin of script's
 * child and sets its size with `stty` (the kernel then sends SIGWINCH). Best effort, asynchronous.
 */
export function resizePty(scriptPid: number, cols: number, rows: number): void {
  const child = ptyProgram(scriptPid);
  if (child === null) return;
  let tty: string;
  try {
    tty = readlinkSync(`/proc/${child}/fd/0`);
  } catch {
    return;
  }
  if (!tty.startsWith('/dev/pts/')) return;
  const c = Math.max(1, Math.min(65535, Math.floor(cols)));
  const r = Math.max(1, Math.min(65535, Math.floor(rows)));
  execFile('stty', ['-F', tty, 'cols', String(c), 'rows', String(r)], () => undefined);
}
