import { connect, type OutgoingHttpHeaders, type SecureClientSessionOptions } from 'node:http2';

/** One GET over a fresh HTTP/2 session (closed afterwards); resolves with the status. */
export function h2Get(
  url: string,
  tls: SecureClientSessionOptions,
  path: string,
  headers: OutgoingHttpHeaders = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const session = connect(url, tls);
    session.on('error', reject);
    const s = session.request({ ':path': path, ...headers });
    s.setTimeout(10_000, () => s.close());
    let status = 0;
    s.on('response', (h) => (status = Number(h[':status'])));
    s.resume();
    s.on('close', () => {
      session.close();
      resolve(status);
    });
    s.on('error', reject);
    s.end();
  });
}
