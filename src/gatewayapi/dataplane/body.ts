import type { IncomingMessage } from 'node:http';

/** The client went away before its request body was all in. */
export class ClientGoneError extends Error {
  override name = 'ClientGoneError';
}

/** A request body read into memory, or, when it is larger than the limit, the part read so far. */
export type ReadBody = { readonly whole: Buffer } | { readonly head: Buffer[] };

/** Whether a request announces a body. */
export function hasBody(req: IncomingMessage): boolean {
  // HTTP/2 frames a body without either header: the request has one unless its HEADERS ended the stream.
  const stream = (req as IncomingMessage & { stream?: { endAfterHeaders: boolean } }).stream;
  if (req.httpVersionMajor === 2 && stream !== undefined) return !stream.endAfterHeaders;
  const h = req.headers;
  return (
    h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0')
  );
}

/**
 * Reads a request body of at most `max` bytes into memory, so it can be sent again (retries,
 * mirrors). A larger one stops being read at the limit (`head`, the stream paused) and is then
 * streamed; a Content-Length over the limit is not read at all.
 */
export function readBody(req: IncomingMessage, max: number): Promise<ReadBody> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) return Promise.resolve({ head: [] });
  return new Promise<ReadBody>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > max) {
        stop();
        req.pause();
        resolve({ head: chunks });
      }
    };
    const onEnd = () => {
      stop();
      resolve({ whole: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size) });
    };
    const onClose = () => {
      stop();
      reject(new ClientGoneError('client closed the connection during the request body'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
  });
}
