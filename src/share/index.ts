export { registerShareMetrics } from './metrics.ts';
export { shareStats } from './stats.ts';
export { watchSharesOf, WatchShares, WINDOW_LIMITS } from './watch-shares.ts';
export type { SharedWatchRequest } from './watch-shares.ts';
export { listSharesOf, ListShares } from './list-shares.ts';
