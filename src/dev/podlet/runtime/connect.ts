import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { Duplex } from 'node:stream';
import type { Readable, Writable } from 'node:stream';

export class ConnectError extends Error {
  override name = 'ConnectError';
  /** The errno-style code when known (`ECONNREFUSED`, `ETIMEDOUT`, `EHOSTUNREACH`, …). */
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.code = code;
  }
}

const CODES: [RegExp, string][] = [
  [/Connection refused/i, 'ECONNREFUSED'],
  [/timed out/i, 'ETIMEDOUT'],
  [/No route to host/i, 'EHOSTUNREACH'],
  [/Network is unreachable/i, 'ENETUNREACH'],
  [/Connection reset/i, 'ECONNRESET'],
];

/** How long socat may take to finish after both directions were closed, before it is killed. */
const LINGER_MS = 10_000;

/** How long to wait for the connection to be established. */
const CONNECT_TIMEOUT_S = 10;

type Socat = ChildProcessByStdio<Writable, Readable, Readable>;

/** A TCP connection carried over a socat process's stdin/stdout, half-close included. */
class SocatStream extends Duplex {
  readonly #child: Socat;
  readonly #what: string;
  #stderr = '';
  #established = false;

  constructor(child: Socat, what: string) {
    super({ allowHalfOpen: true });
    this.#child = child;
    this.#what = what;
    child.stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) child.stdout.pause();
    });
    child.stdout.on('end', () => this.push(null));
    child.stdin.on('error', (err) => this.destroy(err));
    child.stderr.on('data', (c: Buffer) => {
      this.#stderr = (this.#stderr + c.toString()).slice(-4096);
    });
    child.on('exit', (code) => {
      if (code !== 0 && this.#established && !this.destroyed) {
        const msg = errorLines(this.#stderr);
        this.destroy(
          new ConnectError(
            `connection to ${what} failed: ${msg || `socat exited with ${code}`}`,
            codeOf(msg),
          ),
        );
      }
    });
  }

  /** The connection is up: from now on a failing socat fails the stream (before, the promise). */
  established(): void {
    this.#established = true;
  }

  override _read(): void {
    this.#child.stdout.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#child.stdin.write(chunk, (err) => cb(err));
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#child.stdin.end(() => cb());
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const child = this.#child;
    if (child.exitCode === null && child.signalCode === null) {
      if (!err && this.readableEnded && this.writableFinished) {
        // Both directions are done: socat still has to hand our last bytes to the socket and then
        // exits by itself. Killing it now could lose them.
        const timer = setTimeout(() => child.kill('SIGKILL'), LINGER_MS);
        timer.unref();
        child.once('exit', () => clearTimeout(timer));
      } else {
        child.kill('SIGKILL');
      }
    }
    cb(err);
  }

  override toString(): string {
    return `SocatStream(${this.#what})`;
  }
}

function errorLines(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => / E /.test(l))
    .map((l) => l.replace(/^.*? E /, ''))
    .join('; ');
}

function codeOf(msg: string): string | undefined {
  return CODES.find(([re]) => re.test(msg))?.[1];
}

/**
 * Opens a TCP connection to host:port from inside network namespace `netns` (as dockershim did for
 * port-forward: `socat STDIO TCP:host:port` run in the namespace). Resolves once connected; a refused
 * or failed connection rejects with a ConnectError (code ECONNREFUSED, …). Ending the writable side
 * half-closes the connection (the peer reads EOF) while reading goes on, and the peer's EOF ends the
 * readable side; destroying it kills the socat.
 */
export function connectInNetns(netns: string, host: string, port: number): Promise<Duplex> {
  const what = `${host}:${port} in network namespace ${netns}`;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return Promise.reject(new ConnectError(`connection to ${what}: bad port`));
  }
  if (!/^[A-Za-z0-9.:_-]+$/.test(host))
    return Promise.reject(new ConnectError(`connection to ${what}: bad host`));
  const target = host.includes(':') ? `TCP6:[${host}]:${port}` : `TCP:${host}:${port}`;
  return new Promise((resolve, reject) => {
    const child: Socat = spawn(
      '/usr/bin/setpriv',
      [
        '--pdeathsig',
        'KILL',
        '--',
        '/usr/bin/nsenter',
        `--net=/run/netns/${netns}`,
        '--',
        '/usr/bin/socat',
        '-d',
        '-d',
        // After one direction's EOF keep relaying the other one (default: give up after 0.5 s).
        '-t',
        '86400',
        '-b',
        '131072',
        // shut-close: the peer's EOF closes our stdout pipe (plain STDIO would leave it open).
        'STDIO,shut-close',
        `${target},connect-timeout=${CONNECT_TIMEOUT_S}`,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } },
    );
    let stderr = '';
    let settled = false;
    const onStderr = (c: Buffer): void => {
      stderr += c.toString();
      if (!settled && /starting data transfer loop/.test(stderr)) {
        settled = true;
        child.stderr.off('data', onStderr);
        stream.established();
        resolve(stream);
      }
    };
    const stream = new SocatStream(child, what);
    child.stderr.on('data', onStderr);
    child.once('error', (err) => {
      if (settled) return;
      settled = true;
      reject(new ConnectError(`connection to ${what}: cannot run socat: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      const msg = errorLines(stderr) || stderr.trim() || `socat exited with ${code ?? signal}`;
      stream.destroy();
      reject(new ConnectError(`connection to ${what} failed: ${msg}`, codeOf(msg)));
    });
  });
}
