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

/** Writes one JSON line per request. */
export class AccessLog {
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  write(r: AccessRecord): void {
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
