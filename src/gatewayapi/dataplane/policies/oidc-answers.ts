import type { ServerResponse } from 'node:http';

/** A failed login: 403 or 502 with a plain-text reason, never cached; `clear` clears the login cookie. */
export function refuseLogin(res: ServerResponse, status: 403 | 502, why: string, clear?: string): void {
  if (res.destroyed || res.writableEnded || res.headersSent) return;
  const body = `${status === 403 ? 'forbidden' : 'bad gateway'}: login failed: ${why}\n`;
  const headers: Record<string, string | number | string[]> = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  };
  if (clear !== undefined) headers['set-cookie'] = [clear];
  res.writeHead(status, headers);
  res.end(body);
}

/** A 302 of the login flow, with its cookies, never cached. */
export function redirectTo(res: ServerResponse, location: string, cookies: readonly string[]): void {
  if (res.destroyed || res.writableEnded || res.headersSent) return;
  res.writeHead(302, {
    location,
    'set-cookie': [...cookies],
    'cache-control': 'no-store',
    'content-length': 0,
  });
  res.end();
}
