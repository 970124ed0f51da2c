import type { IncomingMessage, ServerResponse } from 'node:http';
import { grpcStatusOf, isGrpcRequest } from './grpc-status.ts';

/**
 * Answers with a plain-text body (the data plane's own 404/500/502/503/504), or, to a gRPC
 * request, with the matching gRPC status. A response whose head is already out is cut instead: a
 * client must not take a part of one for the whole.
 */
export function answerPlain(res: ServerResponse, status: number, text: string): void {
  if (res.destroyed || res.writableEnded) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const req = (res as ServerResponse & { req?: IncomingMessage }).req;
  if (req !== undefined && isGrpcRequest(req.headers['content-type'])) {
    answerGrpc(res, grpcStatusOf(status), text);
    return;
  }
  const body = `${text}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * A gRPC error: HTTP 200 with `grpc-status` and `grpc-message` (percent-encoded, gRPC over
 * HTTP/2 §Responses). Over HTTP/2 they go in trailers after an empty body, a shape every client
 * reads; over HTTP/1.1 (no gRPC client speaks it, but curl may) in the head.
 */
export function answerGrpc(res: ServerResponse, code: number, message: string): void {
  const status = { 'grpc-status': String(code), 'grpc-message': encodeURIComponent(message) };
  if (res.req?.httpVersionMajor === 2) {
    res.writeHead(200, { 'content-type': 'application/grpc' });
    res.addTrailers(status);
  } else res.writeHead(200, { 'content-type': 'application/grpc', ...status });
  res.end();
}
