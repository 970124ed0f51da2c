import type { Socket } from 'node:net';

/** What an HTTP/2 client with prior knowledge sends first (RFC 9113 §3.4). */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** A client that sends nothing for this long is handed to HTTP/1.1 (whose own timeouts apply). */
const SNIFF_TIMEOUT_MS = 10_000;

/**
 * Reads the first bytes of a plaintext connection until they either diverge from the HTTP/2
 * preface (HTTP/1.1, usually on the first byte) or are the whole preface (h2c), then puts them
 * back (`unshift`) and calls `then` with the socket paused. A server given the socket through
 * `emit('connection')` in the same turn reads what was put back before anything newer: Node's
 * HTTP/2 session takes the buffered bytes when it is created, the HTTP/1.1 parser when the socket
 * is resumed, and the socket's handle delivers nothing new before the next turn.
 */
export function sniffPreface(socket: Socket, then: (socket: Socket, h2: boolean) => void): void {
  let got: Buffer = Buffer.alloc(0);
  let done = false;
  const finish = (h2: boolean) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('error', onError);
    socket.pause();
    if (got.length > 0) socket.unshift(got);
    then(socket, h2);
  };
  const onData = (chunk: Buffer) => {
    got = got.length === 0 ? chunk : Buffer.concat([got, chunk]);
    const n = Math.min(got.length, PREFACE.length);
    if (got.compare(PREFACE, 0, n, 0, n) !== 0) finish(false);
    else if (n === PREFACE.length) finish(true);
  };
  const onEnd = () => finish(false);
  const onError = () => {
    done = true;
    clearTimeout(timer);
    socket.destroy();
  };
  const timer = setTimeout(finish, SNIFF_TIMEOUT_MS, false);
  timer.unref();
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('error', onError);
}
