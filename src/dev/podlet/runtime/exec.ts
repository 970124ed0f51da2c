import { spawn } from 'node:child_process';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { ContainerProcess, ExecOptions, ExecProcess, ExitStatus } from '../types.ts';
import { containerInfo, privArgv } from './container.ts';
import { containerEnv, exactEnvArgv } from './env.ts';
import { exitStatusOf, ptyExitStatusOf } from './exit-status.ts';
import { onPty, resizePty, signalPtyProgram } from './tty.ts';

/**
 * After the command exited, its output is read until the pipes close. When a leftover child
 * holds them, they are dropped once nothing came for OUTPUT_IDLE_MS (time the output waits on a
 * slow client does not count) or more than OUTPUT_AFTER_EXIT_MAX bytes came (more than a pipe
 * can hold, so the leftover child is writing).
 */
const OUTPUT_IDLE_MS = 2000;
const OUTPUT_AFTER_EXIT_MAX = 4 * 1024 * 1024;

export class ExecError extends Error {
  override name = 'ExecError';
}

/**
 * Runs argv inside a running container's network, mount and UTS namespaces (`nsenter -t <pid>`), in
 * its root and working directory, as its uid/gid, with exactly `env` (plus PATH and HOSTNAME when missing).
 * stdout and stderr are separate binary streams; with a TTY the command gets a pseudo-terminal and
 * stderr is merged into stdout (stderr is null).
 */
export function execInContainer(
  container: ContainerProcess,
  env: Readonly<Record<string, string>>,
  opts: ExecOptions,
): ExecProcess {
  if (!opts.argv.length) throw new ExecError(`exec in container ${container.id}: empty command`);
  const known = containerInfo(container);
  const pid = known?.pid ?? container.pid;
  const fullEnv = containerEnv(env, known?.hostname);
  const program = opts.tty ? onPty(opts.argv) : [...opts.argv];
  // A bare command name is looked up in the container's PATH by `env`.
  const args = [
    '--pdeathsig',
    'KILL',
    '--',
    '/usr/bin/nsenter',
    '-t',
    String(pid),
    '--net',
    '--mount',
    '--uts',
    '--root',
    '--wd',
    '--',
    ...privArgv(known?.uid, known?.gid),
    ...exactEnvArgv(fullEnv),
    ...program,
  ];
  const keepStdin = opts.stdin || opts.tty;
  const child = spawn('/usr/bin/setpriv', args, {
    stdio: [keepStdin ? 'pipe' : 'ignore', 'pipe', opts.tty ? 'ignore' : 'pipe'],
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  child.stdin?.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const exited = new Promise<ExitStatus>((resolve) => {
    let status: ExitStatus | undefined;
    const done = (s: ExitStatus): void => {
      if (status) return;
      status = s;
      const stop = dropIdleOutput([child.stdout, child.stderr]);
      void closed.then(() => {
        stop();
        resolve(s);
      });
    };
    child.once('exit', (code, signal) => done((opts.tty ? ptyExitStatusOf : exitStatusOf)(code, signal)));
    // Only when setpriv itself cannot be started; the streams then just end.
    child.once('error', () => done(exitStatusOf(126, null)));
  });
  return {
    stdin: opts.stdin ? child.stdin : null,
    stdout: child.stdout!,
    stderr: opts.tty ? null : child.stderr!,
    resize: (cols, rows) => {
      if (opts.tty && child.pid !== undefined) resizePty(child.pid, cols, rows);
    },
    exited,
    kill: () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (opts.tty && child.pid !== undefined) signalPtyProgram(child.pid, 'SIGKILL');
      else child.kill('SIGKILL');
    },
  };
}

/** Destroys `outputs` once they are idle or carry too much after the exit; returns the canceller. */
function dropIdleOutput(outputs: ReadonlyArray<Readable | null>): () => void {
  const live = outputs.filter((o): o is Socket => o instanceof Socket);
  const read = (): number => live.reduce((n, o) => n + o.bytesRead, 0);
  const atExit = read();
  let seen = atExit;
  const timer = setInterval(() => {
    const now = read();
    const waiting = live.some((o) => !o.destroyed && (o.readableFlowing !== true || o.readableLength > 0));
    if (now - atExit <= OUTPUT_AFTER_EXIT_MAX && (now !== seen || waiting)) {
      seen = now;
      return;
    }
    clearInterval(timer);
    for (const o of live) o.destroy();
  }, OUTPUT_IDLE_MS);
  return () => clearInterval(timer);
}
