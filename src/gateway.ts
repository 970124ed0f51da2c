import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import {
  Authenticator,
  kubeAccessReviewer,
  kubeTokenReviewer,
  TokenReviewAuthenticator,
} from './auth/index.ts';
import type { GatewayConfig } from './config/config.ts';
import { AccessLog } from './observe/access-log.ts';
import type { Gateway } from './proxy/context.ts';
import { Listener } from './proxy/listener.ts';
import { createBalancer } from './upstream/balancers/index.ts';
import { Endpoint } from './upstream/endpoint.ts';
import type { UpstreamTLS } from './upstream/session-pool.ts';
import { UpstreamJSONClient } from './upstream/review-client.ts';
import { Upstream } from './upstream/upstream.ts';

/**
 * The composition root. One request runs straight through:
 *   listener (TLS, ALPN) → parse (RequestInfo) → authenticate (Identity, impersonation)
 *   → pick (balancer over healthy endpoints) → forward (HTTP/2 stream or upgrade tunnel)
 */
export class RunningGateway {
  readonly address: AddressInfo;
  readonly upstream: Upstream;
  readonly #listener: Listener;

  private constructor(address: AddressInfo, upstream: Upstream, listener: Listener) {
    this.address = address;
    this.upstream = upstream;
    this.#listener = listener;
  }

  static async start(cfg: GatewayConfig, log: Logger): Promise<RunningGateway> {
    const read = (f: string | undefined) =>
      f === undefined ? Promise.resolve(undefined) : readFile(f, 'utf8');
    const [cert, key, clientCA, upCA, upCert, upKey, upToken] = await Promise.all([
      read(cfg.tls.certFile), read(cfg.tls.keyFile), read(cfg.tls.clientCAFile),
      read(cfg.upstream.caFile), read(cfg.upstream.certFile), read(cfg.upstream.keyFile), read(cfg.upstream.tokenFile),
    ]); // prettier-ignore
    const tls: UpstreamTLS = { ca: upCA!, cert: upCert, key: upKey };
    const token = upToken?.trim();
    const endpoints = cfg.upstream.endpoints.map(
      (e) => new Endpoint(e.name, e.url, tls, { pingIntervalMs: cfg.upstream.pingIntervalMs }),
    );
    const upstream = new Upstream(
      endpoints,
      createBalancer(cfg.upstream.balancer),
      cfg.upstream.healthCheck,
      (ep) =>
        log.info(
          { kind: 'health', endpoint: ep.name, healthy: ep.healthy, cause: ep.ejectedFor ?? undefined },
          'endpoint health changed',
        ),
    );
    // Reviews ride the same balanced HTTP/2 sessions: any healthy replica answers.
    const reviews = new UpstreamJSONClient(upstream, token);
    const authenticator = new Authenticator({
      tokenReview: cfg.authentication.tokenReview
        ? new TokenReviewAuthenticator({ reviewer: kubeTokenReviewer(reviews) })
        : undefined,
      accessReviewer: kubeAccessReviewer(reviews),
      anonymous: cfg.authentication.anonymous,
    });
    const gw: Gateway = {
      authenticator,
      upstream,
      upstreamTLS: tls,
      upstreamToken: token,
      accessLog: new AccessLog(log),
      requestTimeoutMs: cfg.requestTimeoutMs,
    };
    await upstream.start();
    const listener = new Listener(gw, {
      host: cfg.listen.address,
      port: cfg.listen.port,
      cert: cert!,
      key: key!,
      clientCA,
    });
    const address = await listener.listen();
    log.info(
      {
        kind: 'start',
        address: `${address.address}:${address.port}`,
        endpoints: endpoints.length,
        healthy: upstream.healthyCount,
      },
      'kubegate listening',
    );
    return new RunningGateway(address, upstream, listener);
  }

  /** Graceful shutdown: drain, then close upstream sessions. */
  async stop(drainMs?: number): Promise<void> {
    await this.#listener.close(drainMs);
    this.upstream.close();
  }
}
