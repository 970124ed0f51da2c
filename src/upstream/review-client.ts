import type { OutgoingHttpHeaders } from 'node:http2';
import { GatewayError } from '../errors.ts';
import { KubeAPIError, type JSONClient } from '../kube/client.ts';
import type { Upstream } from './upstream.ts';

/**
 * The gateway's own calls (TokenReview, SubjectAccessReview) over the same balanced HTTP/2
 * sessions as client traffic: any healthy replica answers, and no extra connections are opened.
 */
export class UpstreamJSONClient implements JSONClient {
  readonly #upstream: () => Upstream | null;
  readonly #token: () => string | undefined;
  readonly #timeoutMs: number;

  /**
   * `upstream` and `token` are read per call: after a configuration reload (a rotated token file,
   * a rotated client certificate) they are the current ones.
   */
  constructor(upstream: () => Upstream | null, token: () => string | undefined, timeoutMs = 10_000) {
    this.#upstream = upstream;
    this.#token = token;
    this.#timeoutMs = timeoutMs;
  }

  async json<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const ep = this.#upstream()?.pick(false) ?? null;
    if (!ep)
      throw new GatewayError(
        'KG_NO_HEALTHY_UPSTREAM',
        'ServiceUnavailable',
        'no healthy kube-apiserver endpoint for a review',
        { retryAfter: 1 },
      );
    const h2 = await ep.pool.acquire();
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: OutgoingHttpHeaders = {
      ':method': method,
      ':path': path,
      // /openid/v1/jwks only answers application/jwk-set+json (JSON too).
      accept: 'application/json, application/jwk-set+json',
      'user-agent': 'kubegate',
    };
    if (payload) headers['content-type'] = 'application/json';
    const token = this.#token();
    if (token) headers.authorization = `Bearer ${token}`;
    try {
      const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const s = h2.request(headers, { endStream: payload === undefined });
        s.setTimeout(this.#timeoutMs, () => s.close());
        let status = 0;
        const chunks: Buffer[] = [];
        s.on('response', (h) => (status = Number(h[':status'])));
        s.on('data', (c: Buffer) => chunks.push(c));
        s.on('end', () => resolve({ status, text: Buffer.concat(chunks).toString('utf8') }));
        s.on('error', reject);
        s.on(
          'close',
          () => status === 0 && reject(new Error(`${method} ${path}: stream closed without an answer`)),
        );
        if (payload) s.end(payload);
      });
      let parsed: unknown = text;
      try {
        parsed = text.length > 0 ? JSON.parse(text) : null;
      } catch {
        // not JSON: reported as text in the error below
      }
      if (status < 200 || status > 299) throw new KubeAPIError(method, path, status, parsed);
      return parsed as T;
    } finally {
      ep.pool.release(h2);
    }
  }
}
