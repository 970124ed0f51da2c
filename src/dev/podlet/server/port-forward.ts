import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { SpdyStream } from '../spdy/index.ts';
import { KubeletLookupError, type KubeletBackend } from '../types.ts';
import { STREAM_CREATION_TIMEOUT_MS } from './remote-command-streams.ts';
import { acceptSpdy, negotiateProtocol, requireSpdyUpgrade } from './upgrade.ts';

export const PORT_FORWARD_PROTOCOLS = ['portforward.k8s.io'] as const;

interface Pair {
  data: SpdyStream | null;
  error: SpdyStream | null;
  timer: NodeJS.Timeout;
}

/**
 * Port-forward over SPDY, as the kubelet's cri-streaming portforward does: every forwarded
 * connection is a pair of client streams (`streamType` error and data) with the same `requestID`
 * and `port`; once both are there the data stream is joined to a connection into the pod, and a
 * failure is written as text on the pair's error stream.
 */
export function servePortForward(
  backend: KubeletBackend,
  log: Logger,
  target: { namespace: string; pod: string; uid?: string },
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  const protocol = negotiateProtocol(req, PORT_FORWARD_PROTOCOLS);
  requireSpdyUpgrade(req);
  const pairs = new Map<string, Pair>();
  const fail = (stream: SpdyStream | null, msg: string) => {
    log.info({ ...target, msg }, 'port-forward failed');
    if (stream && !stream.destroyed) stream.end(msg);
  };

  const onStream = (stream: SpdyStream): boolean => {
    const port = Number(stream.headers.port);
    const type = stream.headers.streamtype;
    // Invalid streams are refused with SYN_REPLY+FIN, as the kubelet's stream handler does.
    if (!/^\d+$/.test(stream.headers.port ?? '') || port < 1 || port > 65535) return false;
    if (type !== 'error' && type !== 'data') return false;
    stream.on('error', (err) => log.debug({ err }, 'port-forward stream error'));
    // Old clients sent no requestID; the kubelet then pairs streams by consecutive ids.
    const requestID = stream.headers.requestid ?? String(type === 'error' ? stream.id : stream.id - 2);
    let pair = pairs.get(requestID);
    if (!pair) {
      const timer = setTimeout(() => {
        pairs.delete(requestID);
        fail(pair!.error, `timed out waiting for streams for request ${requestID}`);
        pair!.data?.reset();
      }, STREAM_CREATION_TIMEOUT_MS);
      timer.unref();
      pair = { data: null, error: null, timer };
      pairs.set(requestID, pair);
    }
    if (pair[type]) {
      fail(pair.error, `error processing stream for request ${requestID}: ${type} stream already assigned`);
      return true;
    }
    pair[type] = stream;
    if (pair.data && pair.error) {
      clearTimeout(pair.timer);
      pairs.delete(requestID);
      void forward(pair.data, pair.error, port);
    }
    return true;
  };

  const forward = async (data: SpdyStream, error: SpdyStream, port: number): Promise<void> => {
    const describe = (msg: string) =>
      `error forwarding port ${port} to pod ${target.pod}, uid ${target.uid ?? ''}: ${msg}`;
    const conn = backend.portForward(target.namespace, target.pod, port);
    if (conn instanceof KubeletLookupError) {
      fail(error, describe(conn.message));
      data.end();
      return;
    }
    let upstream: Duplex;
    try {
      upstream = await conn;
    } catch (err) {
      fail(error, describe((err as Error).message));
      data.end();
      return;
    }
    await join(data, upstream, (msg) => fail(error, describe(msg)));
    if (!error.destroyed && !error.writableEnded) error.end();
  };

  const session = acceptSpdy(socket, head, protocol, onStream);
  session.on('protocolError', (err: Error) => log.warn({ err }, 'spdy protocol error'));
  session.on('socketError', (err: Error) => log.debug({ err }, 'spdy connection error'));
  void session.closed.then(() => {
    for (const p of pairs.values()) clearTimeout(p.timer);
  });
}

/**
 * Copies both ways with half-close: the client's FIN ends our write side towards the pod, the
 * pod's EOF becomes our FIN. Resolves when both directions are done or either side is torn down.
 */
function join(data: SpdyStream, upstream: Duplex, onError: (msg: string) => void): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      if (!upstream.destroyed) upstream.destroy();
      if (!data.destroyed) data.end();
      resolve();
    };
    upstream.on('error', (err) => {
      onError(err.message);
      finish();
    });
    data.pipe(upstream);
    upstream.pipe(data);
    let ended = 0;
    const oneDirection = () => ++ended === 2 && finish();
    data.once('end', oneDirection);
    upstream.once('end', oneDirection);
    data.once('close', finish); // reset by the client (kubectl resets once it read our FIN)
    upstream.once('close', finish);
  });
}
