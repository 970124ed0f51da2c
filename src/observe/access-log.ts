import type { Logger } from 'pino';
import type { GatewayErrorCode } from '../errors.ts';
import type { Identity, RequestInfo } from '../request/types.ts';

/** One finished request, as the access log records it. Never holds credentials. */
export interface AccessRecord {
  method: string;
  uri: string;
  protocol: string;
  client: string;
  cluster: string;
  info: RequestInfo;
  identity: Identity | null;
  /** The rule that matched (`default` when none did). */
  rule: string | null;
  upstream: string | null;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  auditID: string | null;
  error: string | null;
  /** The gateway's own error code when it answered or failed the request itself. */
  code: GatewayErrorCode | null;
  retried: boolean;
}

/** Sees every finished request after it is logged (metrics, the status page). */
export type AccessObserver = (r: AccessRecord) => void;

/** Writes one JSON line per request, and hands the record to its observers. */
export class AccessLog {
  readonly #log: Logger;
  readonly #observers: AccessObserver[] = [];

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Adds an observer; it must not keep the record or throw. */
  observe(fn: AccessObserver): void {
    this.#observers.push(fn);
  }

  write(r: AccessRecord): void {
    this.#line(r);
    for (const fn of this.#observers) fn(r);
  }

  #line(r: AccessRecord): void {
    const i = r.info;
    this.#log.info(
      {
        kind: 'access',
        method: r.method,
        uri: r.uri,
        proto: r.protocol,
        client: r.client,
        cluster: r.cluster,
        verb: i.verb,
        resource: i.isResourceRequest
          ? {
              apiGroup: i.apiGroup,
              apiVersion: i.apiVersion,
              namespace: i.namespace,
              resource: i.resource,
              subresource: i.subresource,
              name: i.name,
            }
          : undefined,
        user: r.identity
          ? { username: r.identity.user, uid: r.identity.uid || undefined, groups: r.identity.groups }
          : undefined,
        rule: r.rule ?? undefined,
        upstream: r.upstream,
        status: r.status,
        bytesIn: r.bytesIn,
        bytesOut: r.bytesOut,
        durationMs: Math.round(r.durationMs * 1000) / 1000,
        auditID: r.auditID,
        retried: r.retried || undefined,
        error: r.error ?? undefined,
        code: r.code ?? undefined,
      },
      'request',
    );
  }
}
