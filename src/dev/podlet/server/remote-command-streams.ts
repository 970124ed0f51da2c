import type { SpdySession, SpdyStream } from '../spdy/index.ts';

export const REMOTE_COMMAND_PROTOCOLS = [
  'v4.channel.k8s.io',
  'v3.channel.k8s.io',
  'v2.channel.k8s.io',
  'channel.k8s.io',
] as const;

/** How long the client has to open its streams after the upgrade (kubelet's streamCreationTimeout). */
export const STREAM_CREATION_TIMEOUT_MS = 30_000;

export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export interface RemoteCommandStreams {
  error: SpdyStream | null;
  stdin: SpdyStream | null;
  stdout: SpdyStream | null;
  stderr: SpdyStream | null;
  resize: SpdyStream | null;
}

export class StreamCreationTimeoutError extends Error {
  override name = 'StreamCreationTimeoutError';
}

const TYPES = ['error', 'stdin', 'stdout', 'stderr', 'resize'] as const;
type StreamType = (typeof TYPES)[number];

/** The number of streams the kubelet waits for: error, one per requested channel, resize with a TTY (v3+). */
export function expectedStreamCount(opts: StreamOptions, protocol: string): number {
  const resize = opts.tty && (protocol === 'v4.channel.k8s.io' || protocol === 'v3.channel.k8s.io');
  return 1 + Number(opts.stdin) + Number(opts.stdout) + Number(opts.stderr) + Number(resize);
}

/**
 * Collects the client's streams by their `streamType` header. Returns the stream handler for the
 * session and a promise for the set, which rejects if the client has not opened `expected` streams
 * in time or the session ends first.
 */
export function collectStreams(
  expected: number,
  timeoutMs = STREAM_CREATION_TIMEOUT_MS,
): {
  onStream: (stream: SpdyStream) => boolean;
  attach: (session: SpdySession) => void;
  ready: Promise<RemoteCommandStreams>;
} {
  const streams: RemoteCommandStreams = {
    error: null,
    stdin: null,
    stdout: null,
    stderr: null,
    resize: null,
  };
  let received = 0;
  let resolve!: (s: RemoteCommandStreams) => void;
  let reject!: (e: Error) => void;
  const ready = new Promise<RemoteCommandStreams>((res, rej) => ((resolve = res), (reject = rej)));
  const timer = setTimeout(
    () => reject(new StreamCreationTimeoutError('timed out waiting for client to create streams')),
    timeoutMs,
  );
  void ready.finally(() => clearTimeout(timer)).catch(() => undefined);
  return {
    ready,
    attach: (session) =>
      void session.closed.then(() =>
        reject(new StreamCreationTimeoutError('connection closed before streams were created')),
      ),
    onStream: (stream) => {
      const type = stream.headers.streamtype as StreamType | undefined;
      if (type !== undefined && (TYPES as readonly string[]).includes(type)) streams[type] = stream;
      // The kubelet counts every stream it replies to, known type or not.
      received++;
      if (received === expected) resolve(streams);
      return true;
    },
  };
}

/** Reads `{"Width":..,"Height":..}` messages (one JSON value per line, as json.Encoder writes them). */
export function readResizes(stream: SpdyStream, onSize: (cols: number, rows: number) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line === '') continue;
      try {
        const size = JSON.parse(line) as { Width?: unknown; Height?: unknown };
        if (typeof size.Width === 'number' && typeof size.Height === 'number')
          onSize(size.Width, size.Height);
      } catch {
        stream.reset(1); // not JSON: the kubelet stops reading resizes too
        return;
      }
    }
  });
}
