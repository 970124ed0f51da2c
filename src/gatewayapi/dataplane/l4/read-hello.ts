import type { Socket } from 'node:net';
import { ClientHelloError, readServerName } from './client-hello.ts';

/** The client sent no whole ClientHello in time, or closed first. */
export class ClientHelloTimeoutError extends Error {
  override name = 'ClientHelloTimeoutError';
  readonly code = 'HELLO_TIMEOUT';
}

export interface HelloOptions {
  /** How long the client has to send its whole ClientHello. */
  readonly timeoutMs: number;
  /** A longer ClientHello is refused (post-quantum key shares make them ~2 KB; 64 KiB is plenty). */
  readonly maxBytes: number;
}

export const HELLO_DEFAULTS: HelloOptions = { timeoutMs: 10_000, maxBytes: 64 * 1024 };

/**
 * Reads a client's first bytes up to the end of its ClientHello, and answers the SNI host name
 * (`''`: none) with every byte read, to be replayed to the backend or to a local TLS server. The
 * socket is left paused; nothing is consumed that the answer does not hold.
 */
export function readClientHello(
  socket: Socket,
  opts: HelloOptions = HELLO_DEFAULTS,
): Promise<{ serverName: string; head: Buffer }> {
  return new Promise((resolve, reject) => {
    let head: Buffer = Buffer.alloc(0);
    const timer = setTimeout(
      () => finish(new ClientHelloTimeoutError('no ClientHello in time')),
      opts.timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      let name: string | null;
      try {
        // The records around the hello add a few bytes; the hello itself is checked in readServerName.
        if (head.length > opts.maxBytes + 1024)
          throw new ClientHelloError('TOO_LARGE', `more than ${opts.maxBytes} bytes without a ClientHello`);
        name = readServerName(head, opts.maxBytes);
      } catch (err) {
        finish(err as Error);
        return;
      }
      if (name !== null) finish(null, name);
    };
    const onEnd = () => finish(new ClientHelloTimeoutError('the client closed before its ClientHello'));
    function finish(err: Error | null, name?: string): void {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onEnd);
      socket.pause();
      if (err !== null) reject(err);
      else resolve({ serverName: name ?? '', head });
    }
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onEnd);
  });
}
