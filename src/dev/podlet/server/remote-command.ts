import type { IncomingMessage } from 'node:http';
import { PassThrough, type Duplex, type Readable, type Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { SpdyStream } from '../spdy/index.ts';
import {
  KubeletLookupError, type AttachStreams, type ExecOptions, type ExecProcess, type KubeletBackend,
} from '../types.ts'; // prettier-ignore
import { KubeletHttpError } from './errors.ts';
import { encodeStatus, exitStatus, internalErrorStatus, successStatus, type Status } from './exec-status.ts';
import {
  REMOTE_COMMAND_PROTOCOLS, collectStreams, expectedStreamCount, readResizes,
  type RemoteCommandStreams, type StreamOptions,
} from './remote-command-streams.ts'; // prettier-ignore
import { acceptSpdy, negotiateProtocol, requireSpdyUpgrade } from './upgrade.ts';

export interface RemoteCommandRequest {
  kind: 'exec' | 'attach';
  namespace: string;
  pod: string;
  container: string;
  query: URLSearchParams;
}

const flag = (q: URLSearchParams, name: string) => q.get(name) === '1' || q.get(name) === 'true';

export function streamOptions(q: URLSearchParams): StreamOptions {
  const tty = flag(q, 'tty');
  // The kubelet's names; kube-apiserver turns the client's stdin/stdout/stderr into these.
  const opts = { stdin: flag(q, 'input'), stdout: flag(q, 'output'), stderr: flag(q, 'error') && !tty, tty };
  if (!opts.stdin && !opts.stdout && !opts.stderr) {
    throw new KubeletHttpError(400, 'you must specify at least 1 of stdin, stdout, stderr');
  }
  return opts;
}

/** Serves exec or attach on an upgrade request: negotiates, starts the process, pipes the streams. */
export async function serveRemoteCommand(
  backend: KubeletBackend,
  log: Logger,
  rc: RemoteCommandRequest,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  const opts = streamOptions(rc.query);
  const argv = rc.query.getAll('command');
  if (rc.kind === 'exec' && argv.length === 0) throw new KubeletHttpError(400, 'missing command');
  const protocol = negotiateProtocol(req, REMOTE_COMMAND_PROTOCOLS);
  requireSpdyUpgrade(req);
  // The backend is asked first, so unknown pods and stopped containers are HTTP errors before the
  // upgrade. The output is taken into holding buffers at once: Node resumes (and so drops) the
  // unread stdio of a child process when it exits, and the client's streams are not there yet.
  const proc = startTarget(backend, rc, { argv, stdin: opts.stdin, tty: opts.tty });
  const held = { stdout: hold(proc.stdout), stderr: hold(proc.stderr) };
  const stop = () => ('kill' in proc ? proc.kill() : proc.detach());

  const collector = collectStreams(expectedStreamCount(opts, protocol));
  const session = acceptSpdy(socket, head, protocol, collector.onStream);
  session.on('protocolError', (err: Error) => log.warn({ err }, 'spdy protocol error'));
  session.on('socketError', (err: Error) => log.debug({ err }, 'spdy connection error'));
  collector.attach(session);
  let streams: RemoteCommandStreams;
  try {
    streams = await collector.ready;
  } catch (err) {
    log.info({ err, kind: rc.kind, pod: `${rc.namespace}/${rc.pod}` }, 'remote command: streams not created');
    stop();
    held.stdout?.resume();
    held.stderr?.resume();
    await session.close();
    return;
  }
  for (const s of Object.values(streams) as Array<SpdyStream | null>) {
    s?.on('error', (err) => log.debug({ err, stream: s.headers.streamtype }, 'stream error'));
  }
  const status = await pipeProcess(proc, held, streams, session.closed, argv);
  if (status === null) return; // the client went away
  await writeStatus(streams.error, encodeStatus(protocol, status));
  await session.close();
}

/** Joins the process to the streams; resolves with the final status, or null if the client left. */
async function pipeProcess(
  proc: ExecProcess | AttachStreams,
  held: { stdout: Readable | null; stderr: Readable | null },
  streams: RemoteCommandStreams,
  sessionClosed: Promise<void>,
  argv: readonly string[],
): Promise<Status | null> {
  const outputs = [copyOut(held.stdout, streams.stdout), copyOut(held.stderr, streams.stderr)];
  wireStdin(streams.stdin, proc.stdin, 'exited' in proc);
  if (streams.resize) readResizes(streams.resize, (cols, rows) => proc.resize(cols, rows));
  const clientGone = sessionClosed.then(() => null);
  if ('exited' in proc) {
    const done = Promise.all([proc.exited, ...outputs]).then(
      ([exit]) => exitStatus(argv, exit),
      (err: Error) => internalErrorStatus(`error executing command in container: ${err.message}`),
    );
    const result = await Promise.race([done, clientGone]);
    if (result === null) proc.kill();
    return result;
  }
  const result = await Promise.race([Promise.all(outputs).then(() => successStatus()), clientGone]);
  if (result === null) proc.detach();
  return result;
}

function startTarget(
  backend: KubeletBackend,
  rc: RemoteCommandRequest,
  opts: ExecOptions,
): ExecProcess | AttachStreams {
  let target: ExecProcess | AttachStreams | KubeletLookupError;
  try {
    target =
      rc.kind === 'exec'
        ? backend.exec(rc.namespace, rc.pod, rc.container, opts)
        : backend.attach(rc.namespace, rc.pod, rc.container);
  } catch (err) {
    const what = rc.kind === 'exec' ? 'executing command in' : 'attaching to';
    throw new KubeletHttpError(500, `error ${what} container: ${(err as Error).message}`);
  }
  if (target instanceof KubeletLookupError) throw new KubeletHttpError(target.status, target.message);
  return target;
}

/** Takes an output into a bounded buffer right away (back-pressure pauses the source when full). */
function hold(from: Readable | null): Readable | null {
  if (!from) return null;
  const buffer = new PassThrough({ highWaterMark: 64 * 1024 });
  from.on('error', (err) => buffer.destroy(err));
  // Dropped after the exit (a leftover child held it): what was read still goes out, then the end.
  from.once('close', () => {
    if (!buffer.writableEnded && !buffer.destroyed) buffer.end();
  });
  return from.pipe(buffer);
}

/** Pipes one output of the process into its stream; resolves when the stream's FIN is out. */
function copyOut(from: Readable | null, to: SpdyStream | null): Promise<void> {
  if (!from) {
    to?.end();
    return to ? finished(to) : Promise.resolve();
  }
  if (!to) {
    from.resume(); // not requested: drain it so the process never blocks on a full pipe
    return Promise.resolve();
  }
  from.on('error', (err) => to.destroy(err));
  from.pipe(to);
  to.once('close', () => {
    // The client reset the stream: keep draining so the process never blocks on a full pipe.
    from.unpipe(to);
    from.resume();
  });
  return finished(to);
}

function finished(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableFinished || stream.destroyed) return resolve();
    stream.once('finish', () => resolve());
    stream.once('close', () => resolve());
  });
}

function wireStdin(from: SpdyStream | null, to: Writable | null, closeWhenAbsent: boolean): void {
  if (!to) return;
  if (!from) {
    if (closeWhenAbsent) to.end();
    return;
  }
  to.on('error', () => from.unpipe(to)); // the process may exit without reading its stdin
  from.pipe(to);
  from.once('close', () => {
    if (!to.writableEnded) to.end();
  });
}

async function writeStatus(stream: SpdyStream | null, bytes: Buffer | null): Promise<void> {
  if (!stream || stream.destroyed) return;
  if (bytes) stream.write(bytes);
  stream.end();
  await finished(stream);
}
