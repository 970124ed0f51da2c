import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerPlain } from '../answer.ts';
import { isGrpcRequest } from '../grpc-status.ts';

/** Why a TrafficPolicy refused a request: the status, a short body, and headers (a challenge). */
export interface Denial {
  readonly status: 401 | 403 | 413 | 429;
  readonly text: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Answers a refused request. 413 closes an HTTP/1.1 connection: the rest of the body is never
 * read, so the connection cannot carry another request.
 */
export function answerDenial(res: ServerResponse, d: Denial): void {
  const req = (res as ServerResponse & { req?: IncomingMessage }).req;
  if (res.headersSent || (req !== undefined && isGrpcRequest(req.headers['content-type'])))
    return answerPlain(res, d.status, d.text);
  if (res.destroyed || res.writableEnded) return;
  const body = `${d.text}\n`;
  const headers: Record<string, string | number> = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...d.headers,
  };
  if (d.status === 413 && req?.httpVersionMajor === 1) headers.connection = 'close';
  res.writeHead(d.status, headers);
  res.end(body);
}
