// One HTTPS exchange with an OpenID provider (discovery, keys, token endpoint): the certificate is
// verified against the policy's CA bundle, or the process's default CAs without one; redirects are
// not followed (a 3xx is just not a 200); the answer is bounded in time and size.

import { request } from 'node:https';

const MAX_BYTES = 1 << 20;
const TIMEOUT_MS = 10_000;

/** An answer of the provider: its status and its JSON object (null when the body is not one). */
export interface ProviderAnswer {
  readonly status: number;
  readonly body: Readonly<Record<string, unknown>> | null;
}

/** What to send; `ca`: PEM certificates to trust instead of the default CAs. */
export interface ProviderRequest {
  readonly ca: string | null;
  readonly method?: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** Fetches `url`; rejects (saying why: a certificate, a refused connection) when it cannot. */
export function fetchProvider(url: string, r: ProviderRequest): Promise<ProviderAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { accept: 'application/json', ...r.headers };
    if (r.body !== undefined) headers['content-length'] = Buffer.byteLength(r.body);
    const req = request(
      url,
      { method: r.method ?? 'GET', headers, agent: false, ...(r.ca === null ? {} : { ca: r.ca }) },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BYTES) req.destroy(new Error(`${url}: larger than 1 MiB`));
          else chunks.push(c);
        });
        res.on('error', reject);
        res.on('close', () => {
          if (!res.complete) reject(new Error(`${url}: the connection closed mid-answer`));
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: jsonObject(Buffer.concat(chunks)) }),
        );
      },
    );
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`${url}: no answer within 10 s`)));
    req.on('error', reject);
    req.end(r.body);
  });
}

function jsonObject(body: Buffer): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    // Not JSON: the caller decides what a status without a JSON body means.
    return null;
  }
}
