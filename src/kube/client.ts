import { readFileSync } from 'node:fs';
import { request, Agent } from 'node:https';

/** Where a Kubernetes API server is and how to authenticate to it with a client certificate. */
export interface KubeTarget {
  /** Base URL, e.g. `https://127.0.0.1:6443`. */
  server: string;
  ca: string;
  cert?: string;
  key?: string;
  token?: string;
  /** A file the bearer token is re-read from (projected service-account tokens rotate). */
  tokenFile?: string;
  /**
   * A unix socket that carries the connection instead of a TCP dial to `server`'s host (TLS and the
   * name checked are unchanged). `kubegate dev` uses it for processes in a network namespace of
   * their own, to which the API server's loopback address is not reachable.
   */
  socketPath?: string;
}

/** A decoded response from the API server. */
export interface KubeResponse<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

/** The API server answered with an error `Status`. */
export class KubeAPIError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(method: string, path: string, status: number, body: unknown) {
    const s = body as { message?: string; reason?: string } | null;
    super(`${method} ${path}: ${status} ${s?.message ?? JSON.stringify(body)}`);
    this.name = 'KubeAPIError';
    this.status = status;
    this.reason = s?.reason ?? '';
  }
}

/** Sends one JSON request and decodes the answer; throws `KubeAPIError` unless it is 2xx. */
export interface JSONClient {
  json<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

/** A small JSON client for the few calls kubegate itself makes (reviews, bootstrap, list+watch). */
export class KubeClient implements JSONClient {
  readonly target: KubeTarget;
  /** Keep-alive connections to the server for requests. */
  readonly agent: Agent;
  /**
   * Connections for watches, apart: each holds its connection for minutes, and with the request
   * agent's cap, eight informers left no connection for a single status write.
   */
  readonly watchAgent: Agent;

  constructor(target: KubeTarget) {
    this.target = target;
    this.agent = new Agent({
      keepAlive: true,
      ca: target.ca,
      cert: target.cert,
      key: target.key,
      maxSockets: 8,
    });
    this.watchAgent = new Agent({ keepAlive: true, ca: target.ca, cert: target.cert, key: target.key });
  }

  /** Sends one request; returns any status (callers decide what an error is). */
  raw<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = 30_000,
  ): Promise<KubeResponse<T>> {
    const url = new URL(path, this.target.server);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
      // Node sends a DELETE body with neither Content-Length nor chunked framing unless told the
      // length, and the server then reads the body as the next request.
      headers['content-length'] = String(payload.length);
    }
    const token = bearerToken(this.target);
    if (token) headers.authorization = `Bearer ${token}`;
    return new Promise((resolve, reject) => {
      const opts = {
        method,
        headers,
        agent: this.agent,
        timeout: timeoutMs,
        socketPath: this.target.socketPath,
      };
      const req = request(url, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text.length > 0 ? JSON.parse(text) : null;
          } catch {
            // non-JSON bodies (e.g. /readyz "ok") are returned as text
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed as T });
        });
      });
      req.on('timeout', () =>
        req.destroy(new Error(`${method} ${url.pathname}: timed out after ${timeoutMs} ms`)),
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Sends one request and throws `KubeAPIError` unless the status is 2xx. */
  async json<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.raw<T>(method, path, body);
    if (res.status < 200 || res.status > 299) throw new KubeAPIError(method, path, res.status, res.body);
    return res.body;
  }

  /** Creates the object, or replaces it if it exists (enough for idempotent bootstrap). */
  async apply(collectionPath: string, obj: { metadata: { name: string } }): Promise<void> {
    const res = await this.raw('POST', collectionPath, obj);
    if (res.status === 409) {
      await this.json('PUT', `${collectionPath}/${obj.metadata.name}`, obj);
    } else if (res.status < 200 || res.status > 299) {
      throw new KubeAPIError('POST', collectionPath, res.status, res.body);
    }
  }

  close(): void {
    this.agent.destroy();
    this.watchAgent.destroy();
  }
}

const TOKEN_REREAD_MS = 60_000;
const tokenCache = new Map<string, { token: string; readAt: number }>();

/** The target's bearer token; a `tokenFile` is re-read at most once a minute. */
export function bearerToken(target: KubeTarget): string | undefined {
  if (target.tokenFile === undefined) return target.token;
  const now = Date.now();
  const cached = tokenCache.get(target.tokenFile);
  if (cached && now - cached.readAt < TOKEN_REREAD_MS) return cached.token;
  try {
    const token = readFileSync(target.tokenFile, 'utf8').trim();
    tokenCache.set(target.tokenFile, { token, readAt: now });
    return token;
  } catch {
    return cached?.token ?? target.token; // keep the last good token; the request will tell
  }
}
