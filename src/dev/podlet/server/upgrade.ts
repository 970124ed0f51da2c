import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { SpdySession, type SpdyStream } from '../spdy/index.ts';
import { KubeletHttpError } from './errors.ts';

export const PROTOCOL_HEADER = 'x-stream-protocol-version';

/** Writes a plain-text HTTP error on a connection that was not upgraded, then closes it. */
export function writeRawError(socket: Duplex, err: KubeletHttpError): void {
  const body = Buffer.from(err.message + '\n', 'utf8');
  const lines = [`HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}`];
  for (const [name, value] of Object.entries(err.headers)) {
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  }
  lines.push(
    'Content-Type: text/plain; charset=utf-8',
    'X-Content-Type-Options: nosniff',
    `Content-Length: ${body.length}`,
    'Connection: close',
  );
  socket.end(Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), body]));
}

/**
 * Picks the first protocol the client offers that the server supports (as
 * k8s.io/streaming/pkg/httpstream.Handshake does); the header may repeat or be comma-separated.
 */
export function negotiateProtocol(req: IncomingMessage, serverProtocols: readonly string[]): string {
  const raw = req.headersDistinct[PROTOCOL_HEADER];
  if (!raw || raw.length === 0) {
    throw new KubeletHttpError(
      400,
      `unable to upgrade: header X-Stream-Protocol-Version does not exist in request`,
    );
  }
  const offered = raw
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  if (offered.length === 0) {
    throw new KubeletHttpError(
      400,
      'unable to upgrade: header X-Stream-Protocol-Version contains no valid protocols',
    );
  }
  const chosen = offered.find((p) => serverProtocols.includes(p));
  if (chosen === undefined) {
    throw new KubeletHttpError(
      403,
      `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server accepts [${serverProtocols.join(' ')}]`,
      { 'X-Accepted-Stream-Protocol-Versions': [...serverProtocols] },
    );
  }
  return chosen;
}

/** Checks `Connection: Upgrade` and `Upgrade: SPDY/3.1`. */
export function requireSpdyUpgrade(req: IncomingMessage): void {
  const connection = (req.headers.connection ?? '').toLowerCase();
  const upgrade = (req.headers.upgrade ?? '').toLowerCase();
  if (!connection.includes('upgrade') || !upgrade.includes('spdy/3.1')) {
    throw new KubeletHttpError(
      400,
      'unable to upgrade: missing upgrade headers in request (want Upgrade: SPDY/3.1)',
    );
  }
}

/** Answers 101 Switching Protocols and starts a server-side SPDY session on the connection. */
export function acceptSpdy(
  socket: Duplex,
  head: Buffer,
  protocol: string,
  onStream: (stream: SpdyStream) => boolean | void,
): SpdySession {
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\n' +
      'Connection: Upgrade\r\n' +
      'Upgrade: SPDY/3.1\r\n' +
      `X-Stream-Protocol-Version: ${protocol}\r\n` +
      '\r\n',
  );
  return new SpdySession({ socket, side: 'server', head, onStream });
}
