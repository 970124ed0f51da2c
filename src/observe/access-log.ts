import { pino, type Logger } from 'pino';
import type { GatewayErrorCode } from '../errors.ts';
import type { Identity, RequestInfo } from '../request/types.ts';
import { LineBatches, type LineDestination } from './line-batches.ts';

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
    this.#lines = new LineBatches((log as unknown as Record<symbol, LineDestination>)[STREAM]);
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
    let l = `{"level":30,"time":${Date.now()}${(log as unknown as Record<symbol, string>)[CHINDINGS]},"kind":"access","method":${quoted(r.method)},"uri":${str(r.uri)},"proto":${quoted(r.protocol)},"client":${str(r.client)},"cluster":${quoted(r.cluster)},"verb":${quoted(i.verb)}`;
    if (i.isResourceRequest)
      l += `,"resource":{"apiGroup":${quoted(i.apiGroup)},"apiVersion":${quoted(i.apiVersion)},"namespace":${quoted(i.namespace)},"resource":${quoted(i.resource)},"subresource":${quoted(i.subresource)},"name":${str(i.name)}}`;
    if (r.identity !== null) l += userField(r.identity);
    if (r.rule !== null) l += `,"rule":${quoted(r.rule)}`;
    l += `,"upstream":${r.upstream === null ? 'null' : quoted(r.upstream)},"status":${r.status},"bytesIn":${r.bytesIn},"bytesOut":${r.bytesOut},"durationMs":${Math.round(r.durationMs * 1000) / 1000},"auditID":${r.auditID === null ? 'null' : str(r.auditID)}`;
    if (r.retried) l += ',"retried":true';
    if (r.error !== null) l += `,"error":${str(r.error)}`;
    if (r.code !== null) l += `,"code":${quoted(r.code)}`;
    l += ',"msg":"request"}\n';
    // Lines go out in batches, when one is full or FLUSH_MS after its first line: a write(2) per
    // request was a tenth of a request's CPU, and even one per event-loop turn (a few lines each
    // under load) was 4% of a worker's, in the syscall and the thread pool's wake-ups.
    this.#lines.add(l);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setTimeout(this.#drain, FLUSH_MS).unref();
    }
  }

  readonly #lines: LineBatches;
  #scheduled = false;
  readonly #drain = (): void => {
    this.#scheduled = false;
    this.#lines.flush();
  };

  /** Writes the lines still held (they go out within FLUSH_MS anyway). */
  flush(): void {
    this.#lines.flush();
  }

  /** Writes every line held or queued, synchronously: the last thing at shutdown. */
  close(): void {
    this.#lines.close();
  }
}

/** How long a line may wait for others to share its write. */
const FLUSH_MS = 25;

const CHINDINGS = pino.symbols.chindingsSym;
const STREAM = pino.symbols.streamSym;
const str = JSON.stringify as (s: string) => string;

// The fields with few values (method, verb, group, resource, cluster, rule…) quoted once each;
// emptied when full, so a flood of distinct namespaces cannot grow it.
const QUOTED = new Map<string, string>();
const QUOTED_MAX = 4096;

function quoted(s: string): string {
  let q = QUOTED.get(s);
  if (q === undefined) {
    if (QUOTED.size >= QUOTED_MAX) QUOTED.clear();
    q = str(s);
    QUOTED.set(s, q);
  }
  return q;
}

// An identity from the token cache is one frozen object for all its requests: its field is
// written once.
const USER_FIELDS = new WeakMap<Identity, string>();

function userField(id: Identity): string {
  let f = USER_FIELDS.get(id);
  if (f !== undefined) return f;
  f = `,"user":{"username":${str(id.user)}`;
  if (id.uid) f += `,"uid":${str(id.uid)}`;
  f += ',"groups":[';
  for (let g = 0; g < id.groups.length; g++) f += (g === 0 ? '' : ',') + str(id.groups[g]);
  f += ']}';
  if (Object.isFrozen(id) && Object.isFrozen(id.groups)) USER_FIELDS.set(id, f);
  return f;
}
