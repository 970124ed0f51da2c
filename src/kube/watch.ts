import { request, type Agent } from 'node:https';
import { bearerToken, type KubeTarget } from './client.ts';

/** One line of a watch stream. */
export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/**
 * Opens `GET path?watch=1…` and calls `onEvent` per JSON line; resolves when the stream ends
 * (server timeout, connection loss) and rejects on a non-200 answer. `signal` ends it early.
 */
export function watchStream<T>(
  target: KubeTarget,
  agent: Agent,
  path: string,
  onEvent: (e: WatchEvent<T>) => void,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, target.server);
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = bearerToken(target);
    if (token) headers.authorization = `Bearer ${token}`;
    const opts = { method: 'GET', headers, agent, signal, socketPath: target.socketPath };
    const req = request(url, opts, (res) => {
      if (res.statusCode !== 200) {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () =>
          reject(new Error(`watch ${url.pathname}: ${res.statusCode} ${body.slice(0, 300)}`)),
        );
        return;
      }
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line) onEvent(JSON.parse(line) as WatchEvent<T>);
        }
      });
      res.on('end', () => resolve());
      res.on('error', (err) => (signal.aborted ? resolve() : reject(err)));
    });
    req.on('error', (err) => (signal.aborted ? resolve() : reject(err)));
    req.end();
  });
}
