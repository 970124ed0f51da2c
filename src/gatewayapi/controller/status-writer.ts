import type { Logger } from 'pino';
import { KubeAPIError, type KubeClient } from '../../kube/client.ts';
import { sameStatus, stampDeep } from './conditions.ts';
import type { ControllerMetrics } from './metrics.ts';
import { statusPath, type PolicyStatusKind, type RouteStatusKind } from './sources.ts';

type StatusKind = 'gatewayclasses' | 'gateways' | 'listenersets' | RouteStatusKind | PolicyStatusKind;

/** An object as cached by the informers: what the writer needs of it. */
export interface CachedObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  status?: Record<string, unknown>;
}

/** One status the controller wants an object to have. */
export interface DesiredStatus {
  kind: StatusKind;
  object: CachedObject;
  status: Record<string, unknown>;
  /**
   * What `translate` returned for this status, by reference: `translate` hands back the same value
   * for an unchanged object, so the same source on the same resourceVersion needs no comparison.
   */
  source: unknown;
}

const MAX_IN_FLIGHT = 8;

// Fields of status the controller owns but writes only sometimes (the ListenerSet count, for a
// Gateway that allows sets or that one names): when the desired status lacks one the object still
// shows, the patch removes it (null), since a merge patch keeps any field it does not name.
const OPTIONAL_FIELDS: Partial<Record<StatusKind, readonly string[]>> = {
  gateways: ['attachedListenerSets'],
};

/**
 * Writes statuses, only when they differ from what the object shows (transition times aside), as a
 * merge patch of the `status` subresource carrying the resourceVersion read, so a status another
 * writer changed meanwhile is answered 409 and recomputed on the next sync instead of overwritten.
 *
 * The API server fills defaults into what it stores (a parentRef's group and kind, an address's
 * type); the writer remembers what it sent and what came back, so a defaulted field does not look
 * like a change forever.
 */
export class StatusWriter {
  readonly #client: KubeClient;
  readonly #log: Logger;
  /** Objects whose status was found or made right: by the source it was computed from and the version. */
  readonly #settled = new Map<string, { source: unknown; rv: string | undefined }>();
  readonly #sent = new Map<string, { desired: string; stored: unknown; rv: string | undefined }>();
  #inFlight = 0;
  readonly #queue: (() => void)[] = [];
  writes = 0;
  conflicts = 0;

  readonly #metrics: ControllerMetrics;

  constructor(client: KubeClient, log: Logger, metrics: ControllerMetrics) {
    this.#client = client;
    this.#log = log;
    this.#metrics = metrics;
  }

  /**
   * Writes every status that changed; resolves when all writes have ended (failures are logged),
   * with whether any met a conflict (then the statuses must be computed again from newer objects).
   */
  async write(all: readonly DesiredStatus[]): Promise<{ conflicted: boolean; settled: DesiredStatus[] }> {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const before = this.conflicts;
    const writes: Promise<void>[] = [];
    const settled: DesiredStatus[] = [];
    for (const d of all) {
      const { metadata } = d.object;
      const key = statusKey(d.kind, metadata.namespace, metadata.name);
      const seen = this.#settled.get(key);
      // Settled (the common case at thousands of routes): no promise, no comparison.
      if (seen !== undefined && seen.source === d.source && seen.rv === metadata.resourceVersion) {
        settled.push(d);
        continue;
      }
      writes.push(this.#writeOne(d, key, now).then((right) => void (right && settled.push(d))));
    }
    await Promise.all(writes);
    return { conflicted: this.conflicts !== before, settled };
  }

  /** Resolves true when the object already shows the status (nothing written). */
  async #writeOne(d: DesiredStatus, key: string, now: string): Promise<boolean> {
    const { metadata } = d.object;
    const current = d.object.status ?? {};
    const stamped = stampDeep(d.status, current, now) as Record<string, unknown>;
    const stale = (OPTIONAL_FIELDS[d.kind] ?? []).filter(
      (k) => current[k] !== undefined && current[k] !== null && d.status[k] === undefined,
    );
    if (stale.length === 0 && sameStatus(pick(current, stamped), stamped)) {
      this.#settled.set(key, { source: d.source, rv: metadata.resourceVersion });
      return true;
    }
    const desired = JSON.stringify(d.status);
    const last = this.#sent.get(key);
    if (stale.length === 0 && last && last.desired === desired && sameStatus(last.stored, current)) {
      this.#settled.set(key, { source: d.source, rv: metadata.resourceVersion });
      return true;
    }
    await this.#slot();
    try {
      const status = { ...stamped, ...Object.fromEntries(stale.map((k) => [k, null])) };
      const body = { metadata: { resourceVersion: metadata.resourceVersion }, status };
      const path = statusPath(d.kind, metadata.namespace ?? '', metadata.name);
      const stored = await this.#client.json<CachedObject>('PATCH', path, body);
      this.#sent.set(key, { desired, stored: stored.status ?? {}, rv: stored.metadata?.resourceVersion });
      this.#settled.set(key, { source: d.source, rv: stored.metadata?.resourceVersion });
      this.writes++;
      this.#metrics.statusWrite('written');
    } catch (err) {
      if (err instanceof KubeAPIError && (err.status === 409 || err.status === 404)) {
        this.conflicts++; // changed or gone meanwhile: the watch brings the new object, and a new sync
        this.#metrics.statusWrite('conflict');
      } else {
        this.#metrics.statusWrite('error');
        this.#log.warn(
          { kind: 'gatewayapi-status', object: key, err: (err as Error).message },
          'status write failed',
        );
      }
    } finally {
      this.#release();
    }
    return false;
  }

  /** True when `resourceVersion` is the one this writer's last patch of the object produced. */
  isOwnWrite(key: string, resourceVersion: string | undefined): boolean {
    return resourceVersion !== undefined && this.#sent.get(key)?.rv === resourceVersion;
  }

  /** Forgets objects that no longer exist. */
  prune(keep: ReadonlySet<string>): void {
    for (const k of this.#sent.keys()) if (!keep.has(k)) this.#sent.delete(k);
    for (const k of this.#settled.keys()) if (!keep.has(k)) this.#settled.delete(k);
  }

  #slot(): Promise<void> {
    if (this.#inFlight < MAX_IN_FLIGHT) {
      this.#inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#queue.push(resolve));
  }

  #release(): void {
    const next = this.#queue.shift();
    if (next) next();
    else this.#inFlight--;
  }
}

// Only the fields the controller writes are compared (another field of status is not ours).
function pick(current: Record<string, unknown>, like: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(like)) if (current[k] !== undefined) out[k] = current[k];
  return out;
}

/** The writer's key of an object, for `prune`. */
export function statusKey(kind: StatusKind, ns: string | undefined, name: string): string {
  return `${kind}/${ns ?? ''}/${name}`;
}
