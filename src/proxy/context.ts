import type { ClusterRuntime } from '../cluster/runtime.ts';
import type { ClientLimitsConfig } from '../config/model.ts';
import type { KeyedLimit, Penalties } from '../policy/index.ts';
import type { AccessLog } from '../observe/access-log.ts';

/** What every request handler shares: the live clusters and the access log. */
export interface Gateway {
  /** The live runtime of a cluster, read once per request. */
  cluster(name: string): ClusterRuntime | undefined;
  readonly accessLog: AccessLog;
  /** Per-client bounds in force (the request body limit is read per request). */
  readonly clientLimits: ClientLimitsConfig;
  /** Long-running requests open per user, capped by `clientLimits.maxLongRunningPerUser`. */
  readonly longRunningByUser: KeyedLimit;
  /** Client connections open per address, capped by `clientLimits.maxConnectionsPerClientIP`. */
  readonly connectionsByIP: KeyedLimit;
  /** Client addresses refused for `clientLimits.prematureResets.penaltySeconds` after a rapid reset. */
  readonly penalizedIPs: Penalties;
  /** True once graceful shutdown began: `/readyz` through the gateway answers 503. */
  readonly draining: boolean;
  /** The clusters registered by ClusterGateway Secrets; null (or absent) when the ClusterGateway API is off. */
  clusterGatewayClusters?(): readonly ClusterRuntime[] | null;
}
