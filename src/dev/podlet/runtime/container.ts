import { spawn } from 'node:child_process';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { netnsExists } from '../../lab/index.ts';
import type { AttachStreams, ContainerProcess, ContainerStartOptions, ExitStatus } from '../types.ts';
import { AttachHub } from './attach.ts';
import { CriLogWriter } from './cri-log.ts';
import { containerEnv, exactEnvArgv } from './env.ts';
import { exitStatusOf, ptyExitStatusOf } from './exit-status.ts';
import { SETUP_FAILED_EXIT, SETUP_SCRIPT } from './setup-script.ts';

/** How long output is still read after the program exited (pipes held by its leftover children). */
const OUTPUT_DRAIN_MS = 2000;
import { onPty, resizePty, signalPtyProgram } from './tty.ts';

export class ContainerStartError extends Error {
  override name = 'ContainerStartError';
}

/** What exec needs to know about a running container beyond the ContainerProcess shape. */
export interface ContainerInfo {
  readonly pid: number;
  readonly hostname?: string;
  readonly uid?: number;
  readonly gid?: number;
}

const info = new WeakMap<ContainerProcess, ContainerInfo>();

/** The uid/gid and pid a container was started with (undefined for objects not made by startContainer). */
export function containerInfo(c: ContainerProcess): ContainerInfo | undefined {
  return info.get(c);
}

/** `setpriv` prefix: the kernel SIGKILLs the program when the podlet dies; drops to uid/gid when set. */
export function privArgv(uid: number | undefined, gid: number | undefined): string[] {
  const ids =
    uid === undefined && gid === undefined
      ? []
      : [
          ...(uid === undefined ? [] : ['--reuid', String(uid)]),
          '--regid',
          String(gid ?? 0),
          '--clear-groups',
        ];
  return ['/usr/bin/setpriv', '--pdeathsig', 'KILL', ...ids, '--'];
}

/**
 * Starts a container program in the sandbox's network namespace and new mount (private propagation)
 * and UTS namespaces, with exactly the given environment, working directory, ids and mounts (see
 * setup-script.ts). The chain setpriv → nsenter → unshare → sh → setpriv → env execs all the way,
 * so `pid` is the program itself (with a TTY, the `script` relaying its pty). Output is appended to
 * `logPath` in the CRI format and handed to attachers.
 */
export function startContainer(opts: ContainerStartOptions): ContainerProcess {
  const { sandbox, id, argv } = opts;
  if (!argv.length || !argv[0].startsWith('/')) {
    throw new ContainerStartError(
      `container ${id}: argv[0] must be an absolute path (got ${JSON.stringify(argv[0])})`,
    );
  }
  if (!netnsExists(sandbox.netns)) {
    throw new ContainerStartError(`container ${id}: network namespace ${sandbox.netns} does not exist`);
  }
  const env = containerEnv(opts.env, opts.hostname);
  const envArgv = exactEnvArgv(env); // throws on a bad variable name, before anything is created
  const program = opts.tty ? onPty(argv) : [...argv];
  const scratch = mkdtempSync(join(tmpdir(), 'kg-ctr-'));
  const mountArgs = opts.mounts.flatMap((m) => [m.hostPath, m.mountPath, m.readOnly ? 'ro' : 'rw']);
  const args = [
    '--pdeathsig',
    'KILL',
    '--',
    '/usr/bin/nsenter',
    `--net=/run/netns/${sandbox.netns}`,
    '--',
    '/usr/bin/unshare',
    '--mount',
    '--uts',
    '--propagation',
    'private',
    '--',
    '/bin/sh',
    '-c',
    SETUP_SCRIPT,
    'kg-setup',
    opts.hostname ?? '',
    opts.workingDir ?? '',
    scratch,
    String(opts.mounts.length),
    ...mountArgs,
    ...privArgv(opts.uid, opts.gid),
    ...envArgv,
    ...program,
  ];
  // A TTY program keeps its stdin pipe open even without `stdin` (script ends at stdin EOF).
  const wantsStdin = opts.stdin || opts.tty;
  const log = new CriLogWriter(opts.logPath);
  const child = spawn('/usr/bin/setpriv', args, {
    stdio: [wantsStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  if (child.pid === undefined) {
    rmdirSync(scratch);
    throw new ContainerStartError(`container ${id}: could not spawn setpriv`);
  }
  const pid = child.pid;
  // Both are pipes (stdio above); only stdin may be absent.
  const stdout = child.stdout!;
  const stderr = child.stderr!;
  const hub = new AttachHub({
    stdin: opts.stdin ? child.stdin : null,
    stdinOnce: opts.stdinOnce,
    tty: opts.tty,
    resize: (cols, rows) => {
      if (opts.tty) resizePty(pid, cols, rows);
    },
  });
  if (!opts.stdin) child.stdin?.on('error', () => undefined);
  const pipeOut = (name: 'stdout' | 'stderr'): Promise<void> =>
    new Promise((resolve) => {
      const s = name === 'stdout' ? stdout : stderr;
      s.on('data', (chunk: Buffer) => {
        log.write(name, chunk);
        hub.output(name, chunk);
      });
      s.on('close', () => {
        log.end(name);
        resolve();
      });
    });
  const outputs = Promise.all([pipeOut('stdout'), pipeOut('stderr')]);

  let status: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) => {
    const finish = (done: ExitStatus): void => {
      // Output still buffered in the pipes is read first; a background process that inherited them
      // does not hold the container's exit up for more than OUTPUT_DRAIN_MS.
      let timer: NodeJS.Timeout | undefined;
      const drained = new Promise<void>((r) => {
        timer = setTimeout(() => {
          stdout.destroy();
          stderr.destroy();
          r();
        }, OUTPUT_DRAIN_MS);
      });
      void Promise.race([outputs, drained])
        .then(() => {
          clearTimeout(timer);
          return log.close();
        })
        .then(() => {
          hub.end();
          try {
            // Empty on the host: its tmpfs lived only in the container's mount namespace.
            rmdirSync(scratch);
          } catch {
            // already removed by the setup step
          }
          resolve(done);
        });
    };
    child.once('exit', (code, signal) => {
      status = (opts.tty ? ptyExitStatusOf : exitStatusOf)(code, signal);
      finish(status);
    });
    child.once('error', (err) => {
      log.write('stderr', Buffer.from(`kubegate runtime: ${err.message}\n`));
      if (status === undefined) {
        status = exitStatusOf(SETUP_FAILED_EXIT, null);
        finish(status);
      }
    });
  });

  const signal = (sig: NodeJS.Signals): void => {
    if (status !== undefined) return;
    if (opts.tty) signalPtyProgram(pid, sig);
    else child.kill(sig);
  };
  const kill = (): void => signal('SIGKILL');
  const container: ContainerProcess = {
    id,
    pid,
    startedAt: new Date(),
    exited,
    kill,
    async stop(graceMs: number): Promise<ExitStatus> {
      if (status === undefined) {
        signal('SIGTERM');
        const timer = setTimeout(kill, Math.max(0, graceMs));
        const s = await exited;
        clearTimeout(timer);
        return s;
      }
      return exited;
    },
    attach: (): AttachStreams => hub.attach(),
  };
  info.set(container, { pid, uid: opts.uid, gid: opts.gid, hostname: env.HOSTNAME });
  return container;
}
