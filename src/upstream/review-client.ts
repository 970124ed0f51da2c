import type { OutgoingHttpHeaders } from 'node:http2';
import { GatewayError } from '../errors.ts';
import { KubeAPIError, type JSONClient } from '../kube/client.ts';
import type { Endpoint } from './endpoint.ts';
import type { Upstream } from './upstream.ts';

/** Answers that another replica may not give: the call is asked once more, there. */
const RETRIED_STATUS = new Set([500, 502, 503, 504]);

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

  /**
   * One call, answered by any healthy replica: a replica that fails to answer (no session, a
   * reset or timed-out stream, a 500/502/503/504) is left for one other, so a review does not fail
   * for the one replica that is restarting. Reviews create nothing, so asking twice is safe.
   */
  async json<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    let failed: Endpoint | undefined;
    for (let attempt = 0; ; attempt++) {
      const ep = this.#upstream()?.pick(false, failed) ?? null;
      if (!ep)
        throw new GatewayError(
          'KG_NO_HEALTHY_UPSTREAM',
          'ServiceUnavailable',
          'no healthy kube-apiserver endpoint for a review',
          { retryAfter: 1 },
        );
      const answer = await this.#ask(ep, method, path, payload).catch((err: unknown) => err as Error);
      if (attempt === 0 && (answer instanceof Error || RETRIED_STATUS.has(answer.status))) {
        failed = ep;
        continue;
      }
      if (answer instanceof Error) throw answer;
      let parsed: unknown = answer.text;
      try {
        parsed = answer.text.length > 0 ? JSON.parse(answer.text) : null;
      } catch {
        // not JSON: reported as text in the error below
      }
      if (answer.status < 200 || answer.status > 299)
        throw new KubeAPIError(method, path, answer.status, parsed);
      return parsed as T;
    }
  }

  async #ask(
    ep: Endpoint,
    method: string,
    path: string,
    payload: Buffer | undefined,
  ): Promise<{ status: number; text: string }> {
    const h2 = await ep.pool.acquire();
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
      return await new Promise<{ status: number; text: string }>((resolve, reject) => {
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
    } finally {
      ep.pool.release(h2);
    }
  }
}
