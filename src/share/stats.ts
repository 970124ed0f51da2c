import type { NotShared } from './watch-key.ts';

/** Why a watch on a rule with `share: watches` still went to the apiserver on its own. */
export type ForwardReason = NotShared | 'review_failed' | 'window' | 'upstream_refused';

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
};

export function countForwarded(reason: ForwardReason): void {
  shareStats.forwarded.set(reason, (shareStats.forwarded.get(reason) ?? 0) + 1);
}
