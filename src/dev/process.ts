import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';

/** A control-plane process started by kubegate, with its output in a log file. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal) once the process has ended. */
  readonly exited: Promise<number | string>;
}

// setpriv --pdeathsig makes the kernel kill the child when kubegate dies, even by SIGKILL, so no
// etcd or kube-apiserver outlives the run that started it.
const SETPRIV = existsSync('/usr/bin/setpriv') ? '/usr/bin/setpriv' : null;

const live = new Set<ManagedProcess>();
let hooked = false;

// Last resort on any exit path of this process: SIGKILL is synchronous and needs no event loop.
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const p of live) p.child.kill('SIGKILL');
  });
}

/** Starts `bin args…` with stdout and stderr appended to `logFile`. */
export function startProcess(
  name: string,
  bin: string,
  args: readonly string[],
  logFile: string,
): ManagedProcess {
  hookExit();
  const fd = openSync(logFile, 'a');
  const [cmd, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', bin, ...args]] : [bin, [...args]];
  const child = spawn(cmd, argv, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${bin})`);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(proc);
      resolve(code ?? signal ?? -1);
    });
    child.once('error', () => {
      live.delete(proc);
      resolve(-1);
    });
  });
  const proc: ManagedProcess = { name, pid: child.pid, child, exited };
  live.add(proc);
  return proc;
}

/** Stops a process: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcess(p: ManagedProcess, graceMs = 5000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(timer);
}
