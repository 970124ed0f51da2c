import { pino, type Logger } from 'pino';
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
    const log = this.#log;
    if (!log.isLevelEnabled('info')) return;
    // Built by hand: pino's generic serialiser walks the object and escapes every key, which was
    // the largest single cost of a request after HTTP/2 itself. Same line, same field order.
    const i = r.info;
    let l = `{"level":30,"time":${Date.now()}${(log as unknown as Record<symbol, string>)[CHINDINGS]},"kind":"access","method":${str(r.method)},"uri":${str(r.uri)},"proto":${str(r.protocol)},"client":${str(r.client)},"cluster":${str(r.cluster)},"verb":${str(i.verb)}`;
    if (i.isResourceRequest)
      l += `,"resource":{"apiGroup":${str(i.apiGroup)},"apiVersion":${str(i.apiVersion)},"namespace":${str(i.namespace)},"resource":${str(i.resource)},"subresource":${str(i.subresource)},"name":${str(i.name)}}`;
    const id = r.identity;
    if (id !== null) {
      l += `,"user":{"username":${str(id.user)}`;
      if (id.uid) l += `,"uid":${str(id.uid)}`;
      l += ',"groups":[';
      for (let g = 0; g < id.groups.length; g++) l += (g === 0 ? '' : ',') + str(id.groups[g]);
      l += ']}';
    }
    if (r.rule !== null) l += `,"rule":${str(r.rule)}`;
    l += `,"upstream":${r.upstream === null ? 'null' : str(r.upstream)},"status":${r.status},"bytesIn":${r.bytesIn},"bytesOut":${r.bytesOut},"durationMs":${Math.round(r.durationMs * 1000) / 1000},"auditID":${r.auditID === null ? 'null' : str(r.auditID)}`;
    if (r.retried) l += ',"retried":true';
    if (r.error !== null) l += `,"error":${str(r.error)}`;
    if (r.code !== null) l += `,"code":${str(r.code)}`;
    l += ',"msg":"request"}\n';
    // Lines of one event-loop turn go out in one write (a write(2) per request was a tenth of a
    // request's CPU), at most BATCH bytes each so a write to a pipe stays atomic (PIPE_BUF).
    if (this.#pending.length + l.length > BATCH) this.flush();
    this.#pending += l;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#drain);
    }
  }

  #pending = '';
  #scheduled = false;
  readonly #drain = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  /** Writes the lines still held (they go out by the end of the event-loop turn anyway). */
  flush(): void {
    if (this.#pending === '') return;
    const batch = this.#pending;
    this.#pending = '';
    (this.#log as unknown as Record<symbol, { write(s: string): void }>)[STREAM].write(batch);
  }
}

const BATCH = 4096;

const CHINDINGS = pino.symbols.chindingsSym;
const STREAM = pino.symbols.streamSym;
const str = JSON.stringify as (s: string) => string;
