// A minimal gRPC client for tests: one unary call over HTTP/2 (h2c with prior knowledge, or TLS
// with ALPN h2), the message framed by hand (1 byte compressed flag, 4 bytes big-endian length,
// then the protobuf bytes), and the status read from the trailers (or the head, trailers-only).

import { connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import type { SecureContextOptions } from 'node:tls';

export interface GrpcAnswer {
  /** The HTTP status (200 for every gRPC answer). */
  httpStatus: number;
  /** `grpc-status`, or -1 when there was none. */
  code: number;
  message: string;
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders;
  /** The response messages' protobuf bytes. */
  messages: Buffer[];
}

/** One unary call `path` (`/package.Service/Method`) with `metadata` as request headers. */
export async function grpcCall(
  url: string,
  path: string,
  opts: {
    authority?: string;
    metadata?: Record<string, string>;
    message?: Buffer;
    tls?: SecureContextOptions & { servername?: string };
    timeoutMs?: number;
  } = {},
): Promise<GrpcAnswer> {
  const session: ClientHttp2Session = connect(url, opts.tls ?? {});
  session.on('error', () => {}); // reported by the stream
  try {
    return await new Promise<GrpcAnswer>((resolve, reject) => {
      const stream = session.request({
        ':method': 'POST',
        ':path': path,
        ...(opts.authority === undefined ? {} : { ':authority': opts.authority }),
        'content-type': 'application/grpc',
        te: 'trailers',
        ...opts.metadata,
      });
      const timer = setTimeout(() => {
        stream.close();
        reject(new Error(`gRPC call ${path} timed out`));
      }, opts.timeoutMs ?? 10_000);
      let headers: IncomingHttpHeaders = {};
      let trailers: IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      stream.on('response', (h) => (headers = h));
      stream.on('trailers', (t) => (trailers = t));
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      stream.on('end', () => {
        clearTimeout(timer);
        const status = trailers['grpc-status'] ?? headers['grpc-status'];
        const message = trailers['grpc-message'] ?? headers['grpc-message'];
        resolve({
          httpStatus: Number(headers[':status']),
          code: status === undefined ? -1 : Number(status),
          message: message === undefined ? '' : decodeURIComponent(String(message)),
          headers,
          trailers,
          messages: unframe(Buffer.concat(chunks)),
        });
      });
      stream.end(frame(opts.message ?? Buffer.alloc(0)));
    });
  } finally {
    session.close();
  }
}

/** A gRPC length-prefixed message (uncompressed). */
export function frame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

function unframe(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at + 5 <= body.length;) {
    const n = body.readUInt32BE(at + 1);
    out.push(body.subarray(at + 5, at + 5 + n));
    at += 5 + n;
  }
  return out;
}

/** The length-delimited fields (wire type 2) of a protobuf message, by field number, in order. */
export function protoFields(msg: Buffer): Map<number, Buffer[]> {
  const out = new Map<number, Buffer[]>();
  let at = 0;
  const varint = (): number => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = msg[at++];
      v += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return v;
      shift += 7;
    }
  };
  while (at < msg.length) {
    const key = varint();
    const wire = key & 7;
    const field = Math.floor(key / 8);
    if (wire === 0) varint();
    else if (wire === 2) {
      const n = varint();
      const list = out.get(field) ?? [];
      list.push(msg.subarray(at, at + n));
      out.set(field, list);
      at += n;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else throw new Error(`protobuf wire type ${wire} not read here`);
  }
  return out;
}
