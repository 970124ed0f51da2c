import type { NotCached } from './list-key.ts';
import type { NotShared } from './watch-key.ts';

/** Why a watch on a rule with `share: watches` still went to the apiserver on its own. */
export type ForwardReason = NotShared | 'review_failed' | 'window' | 'upstream_refused';

/** Why a LIST on a rule with `share: watches+lists` still went to the apiserver. */
export type ListForwardReason =
  | Exclude<NotCached, 'not_list'>
  | 'review_failed'
  | 'upstream_refused'
  | 'not_ready'
  | 'list_format'
  | 'too_large'
  | 'behind'
  | 'metadata_format';

/** This thread's shared-watch counters (each worker has its own; /metrics sums them). */
export const shareStats = {
  /** Upstream watches open for shared streams. */
  upstreamWatches: 0,
  /** Client watches attached to shared streams. */
  clientWatches: 0,
  /** Events written to clients (one per client per event). */
  eventsFannedOut: 0,
  /** Clients closed because they fell behind the window. */
  evictions: 0,
  /** Upstream watches resumed after the apiserver ended or lost one. */
  resumes: 0,
  /** Clients refused (403) by the access check. */
  refused: 0,
  /** Watches forwarded as they are, by reason. */
  forwarded: new Map<ForwardReason, number>(),
  /** Watch caches held (collections listed and watched for cached lists). */
  listCaches: 0,
  /** LISTs the watch caches made (the first of each, and each relist). */
  listSyncs: 0,
  /** Relists after a watch could not go on (410 Gone, an unreadable event). */
  listRelists: 0,
  /** Lists answered from a watch cache. */
  listsServed: 0,
  /** Lists refused (403) by the access check. */
  listsRefused: 0,
  /** Watches from resourceVersion 0 given the current state from a watch cache. */
  initialStates: 0,
  /** Watch-list requests sent upstream (each answers every client that came before it was sent). */
  watchListsUpstream: 0,
  /** Client watch-lists answered from a shared watch-list request. */
  watchListsServed: 0,
  /** Clients moved from a watch-list, after its initial events, to the plain stream of their watch. */
  watchListsMoved: 0,
  /** Lists forwarded as they are, by reason. */
  listsForwarded: new Map<ListForwardReason, number>(),
};

export function countForwarded(reason: ForwardReason): void {
  shareStats.forwarded.set(reason, (shareStats.forwarded.get(reason) ?? 0) + 1);
}

export function countListForwarded(reason: ListForwardReason): void {
  shareStats.listsForwarded.set(reason, (shareStats.listsForwarded.get(reason) ?? 0) + 1);
}
