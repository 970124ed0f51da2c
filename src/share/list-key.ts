import type { IncomingHttpHeaders } from 'node:http2';
import type { RequestInfo } from '../request/types.ts';
import { parseResourceVersion } from './event.ts';
import { parseFieldSelector, type FieldSelector } from './field-selector.ts';
import { parseLabelSelector, SelectorNotEvaluable, type LabelSelector } from './label-selector.ts';
import { listMedia, type ListForm } from './list-media.ts';

/** A LIST that can be served from a watch cache: which cache, and what the client selects. */
export interface CachedListRequest {
  /** Lists of one collection share one cache: cluster and URL path (group, version, namespace, resource). */
  readonly key: string;
  readonly path: string;
  /** The `Accept` its cache lists and watches with (JSON, or protobuf first). */
  readonly accept: string;
  /** The objects, or their metadata (PartialObjectMetadataList). */
  readonly form: ListForm;
  /** The metadata list in protobuf (else JSON). */
  readonly protobuf: boolean;
  /** The cache must have reached this resourceVersion (0: any recent state). */
  readonly minRV: bigint;
  readonly labelSelector: string;
  readonly fieldSelector: string;
  readonly labels: LabelSelector;
  readonly fields: FieldSelector;
}

/** Why a LIST goes to the apiserver as it is. */
export type NotCached =
  'not_list' | 'encoding' | 'table' | 'resource_version' | 'parameter' | 'label_selector' | 'field_selector';

const LIMIT = /^[0-9]{1,18}$/;

/**
 * The cached form of a LIST, or why it is forwarded. Cached: a collection (no subresource) in
 * JSON or protobuf with `resourceVersion=0` — "any recent state", which kube-apiserver serves
 * from its watch cache, ignoring `limit` (`computeListLimit`: no `continue` comes back) — or
 * with a numeric one and no limit ("not older than", what a reflector relists with), with
 * `resourceVersionMatch` absent or `NotOlderThan`, and only `labelSelector`, `fieldSelector`
 * and `limit` beside them, each selector one the gateway evaluates exactly as the apiserver does.
 */
export function cachedList(
  cluster: string,
  info: RequestInfo,
  uri: string,
  headers: IncomingHttpHeaders,
): CachedListRequest | NotCached {
  if (info.verb !== 'list' || info.subresource !== '' || !info.isResourceRequest) return 'not_list';
  const media = listMedia(headers.accept);
  if (typeof media === 'string') return media;
  const { accept, form, protobuf } = media;
  const q = uri.indexOf('?');
  const params = new URLSearchParams(q < 0 ? '' : uri.slice(q + 1));
  let labelSelector = '';
  let fieldSelector = '';
  let rv: string | null = null;
  let match: string | null = null;
  let limited = false;
  const seen = new Set<string>();
  for (const [name, value] of params) {
    if (seen.has(name)) return 'parameter';
    seen.add(name);
    switch (name) {
      case 'resourceVersion':
        rv = value;
        break;
      case 'labelSelector':
        labelSelector = value;
        break;
      case 'fieldSelector':
        fieldSelector = value;
        break;
      case 'limit':
        // Ignored for resourceVersion=0, but a malformed one is the apiserver's 400.
        if (!LIMIT.test(value)) return 'parameter';
        limited = Number(value) > 0;
        break;
      case 'resourceVersionMatch':
        match = value;
        break;
      default:
        return 'parameter';
    }
  }
  // What kube-apiserver's cacher (`shouldDelegateList`) serves from its watch cache without
  // paging: resourceVersion 0, or a version it must not be older than, unlimited (a limit with a
  // version other than 0 pages, and without a match it is even an exact read).
  const minRV = rv === '0' ? 0n : parseResourceVersion(rv);
  if (minRV === null || (match !== null && match !== 'NotOlderThan')) return 'resource_version';
  if (minRV > 0n && limited) return 'resource_version';
  let labels: LabelSelector;
  let fields: FieldSelector;
  try {
    labels = parseLabelSelector(labelSelector);
  } catch (err) {
    if (err instanceof SelectorNotEvaluable) return 'label_selector';
    throw err;
  }
  try {
    fields = parseFieldSelector(fieldSelector);
  } catch (err) {
    if (err instanceof SelectorNotEvaluable) return 'field_selector';
    throw err;
  }
  return {
    // JSON lists share the cache that serves watches from resourceVersion 0 (see ListShares).
    key:
      accept === 'application/json'
        ? `${cluster}\u0000${info.path}`
        : `${cluster}\u0000${info.path}\u0000${accept}`,
    path: info.path,
    accept,
    form,
    protobuf,
    minRV,
    labelSelector,
    fieldSelector,
    labels,
    fields,
  };
}
