import type { Authenticator } from '../auth/index.ts';
import type { AccessLog } from '../observe/access-log.ts';
import type { Upstream } from '../upstream/upstream.ts';
import type { UpstreamTLS } from '../upstream/session-pool.ts';

/** What every request handler shares: the stages after parsing, as one read-only value. */
export interface Gateway {
  readonly authenticator: Authenticator;
  readonly upstream: Upstream;
  readonly upstreamTLS: UpstreamTLS;
  readonly upstreamToken: string | undefined;
  readonly accessLog: AccessLog;
  /** Limit for short (not long-running) requests; 0 = none. */
  readonly requestTimeoutMs: number;
}
