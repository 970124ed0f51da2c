import type { IncomingHttpHeaders } from 'node:http2';
import type { RequestInfo } from '../request/types.ts';
import { parseResourceVersion } from './event.ts';

/** A watch request that can join a shared stream: what is shared, and what is the client's own. */
export interface ShareableWatch {
  /** Identical watches have the same key: cluster, path (resource, namespace), selectors. */
  readonly key: string;
  /** The URL path (group, version, namespace, resource). */
  readonly path: string;
  readonly labelSelector: string;
  readonly fieldSelector: string;
  /** The client's resourceVersion: it gets the events above it (-1 for a watch-list: all of them). */
  readonly rv: bigint;
  /**
   * A watch-list (client-go's informers since 1.35): `sendInitialEvents=true` with
   * `resourceVersionMatch=NotOlderThan` and no resourceVersion — the current state (a consistent
   * read) as ADDED events, a BOOKMARK marked `k8s.io/initial-events-end`, then the changes.
   */
  readonly watchList: boolean;
  /** Whether the client asked for bookmarks (the upstream always does; they are filtered per client). */
  readonly bookmarks: boolean;
  /** The client's `timeoutSeconds`; null: kube-apiserver's default. */
  readonly timeoutSeconds: number | null;
  /** The `Accept` sent upstream (part of the key: it chooses JSON, protobuf or CBOR). */
  readonly accept: string;
}

/** Why a watch goes to the apiserver as it is instead of joining a shared stream. */
export type NotShared =
  'not_watch' | 'encoding' | 'parameter' | 'resource_version' | 'initial_events' | 'timeout';

/** Ends the key of a watch-list: the key without it is the same watch from a resourceVersion. */
export const WATCH_LIST_SUFFIX = '\u0000watch-list';

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);
const TIMEOUT = /^[0-9]{1,9}$/;

const SHAREABLE_RANGES = new Set([
  'application/json',
  'application/vnd.kubernetes.protobuf',
  'application/cbor',
  'application/*',
  '*/*',
]);

/**
 * The `Accept` of a watch whose answer the gateway can frame (JSON, protobuf for the types that
 * have it, kube-apiserver answering JSON for the rest; CBOR, answered as `application/cbor-seq`
 * when the apiserver serves it), normalized; null for anything else: parameters (`as=Table`,
 * `as=PartialObjectMetadata` change the objects), `application/cbor-seq` (the apiserver's 406),
 * other types.
 */
export function shareableAccept(accept: string | undefined): string | null {
  if (accept === undefined || accept === '') return 'application/json';
  const ranges: string[] = [];
  for (const range of accept.split(',')) {
    const r = range.trim().toLowerCase();
    if (!SHAREABLE_RANGES.has(r)) return null;
    ranges.push(r);
  }
  return ranges.join(', ');
}

/**
 * The shared form of a watch request, or why it cannot be shared. Shared: `?watch=true` on a
 * collection, JSON, protobuf or CBOR, and either a numeric `resourceVersion` (events after a known
 * point; "" and "0" ask for the current state first, which a stream alone cannot give) or a
 * watch-list (`sendInitialEvents=true&resourceVersionMatch=NotOlderThan` with bookmarks and no
 * resourceVersion); only `labelSelector`, `fieldSelector`, `allowWatchBookmarks` and
 * `timeoutSeconds` beside it. Anything else is forwarded, so the apiserver answers it.
 */
export function shareableWatch(
  cluster: string,
  info: RequestInfo,
  uri: string,
  headers: IncomingHttpHeaders,
  /** `resourceVersion=0` is taken (as 0): a watch cache gives the current state first. */
  fromZero = false,
): ShareableWatch | NotShared {
  if (info.verb !== 'watch' || info.subresource !== '') return 'not_watch';
  const accept = shareableAccept(headers.accept);
  if (accept === null) return 'encoding';
  const q = uri.indexOf('?');
  const params = new URLSearchParams(q < 0 ? '' : uri.slice(q + 1));
  let labelSelector = '';
  let fieldSelector = '';
  let rvParam: string | null = null;
  let initialEvents: string | null = null;
  let rvMatch: string | null = null;
  let bookmarks = false;
  let timeoutSeconds: number | null = null;
  const seen = new Set<string>();
  for (const [name, value] of params) {
    // Go's url.Values.Get takes the first of repeated parameters; kept simple: repeated is forwarded.
    if (seen.has(name)) return 'parameter';
    seen.add(name);
    switch (name) {
      case 'watch':
        if (!GO_TRUE.has(value)) return 'parameter';
        break;
      case 'labelSelector':
        labelSelector = value;
        break;
      case 'fieldSelector':
        fieldSelector = value;
        break;
      case 'resourceVersion':
        rvParam = value;
        break;
      case 'allowWatchBookmarks':
        if (GO_TRUE.has(value)) bookmarks = true;
        else if (!GO_FALSE.has(value)) return 'parameter';
        break;
      case 'sendInitialEvents':
        initialEvents = value;
        break;
      case 'resourceVersionMatch':
        rvMatch = value;
        break;
      case 'timeoutSeconds':
        if (!TIMEOUT.test(value)) return 'timeout';
        timeoutSeconds = Number(value) === 0 ? null : Number(value);
        break;
      default:
        return 'parameter';
    }
  }
  // Only the watch-list form is shared; every other use of these two (even sendInitialEvents=false,
  // and anything the apiserver rejects) is forwarded.
  const watchList = initialEvents !== null || rvMatch !== null;
  if (watchList) {
    const ok =
      initialEvents !== null &&
      GO_TRUE.has(initialEvents) &&
      rvMatch === 'NotOlderThan' &&
      (rvParam === null || rvParam === '') &&
      bookmarks;
    if (!ok) return 'initial_events';
  }
  const rv = watchList ? -1n : fromZero && rvParam === '0' ? 0n : parseResourceVersion(rvParam);
  if (rv === null) return 'resource_version';
  const key =
    `${cluster}\u0000${info.path}\u0000${labelSelector}\u0000${fieldSelector}\u0000${accept}` +
    (watchList ? WATCH_LIST_SUFFIX : '');
  return {
    key,
    path: info.path,
    labelSelector,
    fieldSelector,
    rv,
    watchList,
    bookmarks,
    timeoutSeconds,
    accept,
  };
}
