import type { ServerResponse } from 'node:http';

/**
 * Answers with a plain-text body (the data plane's own 404/500/502/503/504). A response whose
 * head is already out is cut instead: a client must not take a part of one for the whole.
 */
export function answerPlain(res: ServerResponse, status: number, text: string): void {
  if (res.destroyed || res.writableEnded) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${text}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
