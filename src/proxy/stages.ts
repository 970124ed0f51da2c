import type { AuthenticationInput } from '../auth/index.ts';
import { admit, type ClientPresence } from '../cluster/admission.ts';
import type { RulePolicy } from '../cluster/rule-policy.ts';
import type { ClusterRuntime } from '../cluster/runtime.ts';
import { exchangeIdentity } from '../clustergateway/identity-exchange.ts';
import { registeredCluster } from '../clustergateway/select.ts';
import { GatewayError } from '../errors.ts';
import type { Identity } from '../request/types.ts';
import type { AccessRecord } from '../observe/access-log.ts';
import type { RequestTrace } from '../observe/tracing.ts';
import type { Permit } from '../policy/index.ts';
import type { Gateway } from './context.ts';

/** A request past cluster → authenticate → route → govern, ready to pick and forward. */
export interface Admitted {
  cluster: ClusterRuntime;
  policy: RulePolicy;
  permit: Permit;
}

/**
 * The stages between parse and pick, shared by streams and upgrades. Fills the access record
 * (cluster, identity, rule) as it goes, and the trace's events when tracing is on; throws (or
 * rejects with) the `GatewayError` the client gets. No promise unless a stage has to wait (a token
 * to review, a queue).
 */
export function admitRequest(
  gw: Gateway,
  clusterName: string,
  record: AccessRecord,
  input: AuthenticationInput,
  longRunning: boolean,
  client: ClientPresence | undefined,
  trace: RequestTrace | null,
): Admitted | Promise<Admitted> {
  const identity = authenticateOn(gw, clusterName, record, input, trace);
  return identity instanceof Promise
    ? identity.then((id) => admitAs(gw, clusterName, record, id, longRunning, client, trace))
    : admitAs(gw, clusterName, record, identity, longRunning, client, trace);
}

function admitAs(
  gw: Gateway,
  clusterName: string,
  record: AccessRecord,
  authenticated: Identity,
  longRunning: boolean,
  client: ClientPresence | undefined,
  trace: RequestTrace | null,
): Admitted | Promise<Admitted> {
  let identity = authenticated;
  // A ClusterGateway proxy path (selectByPath) names another cluster than the listener's, which
  // sees the caller's identity or the one its identity exchange rules map it to.
  const cluster =
    record.cluster === clusterName ? gw.cluster(clusterName)! : registeredCluster(gw, record.cluster);
  if (cluster.config.identityExchange)
    record.identity = identity = exchangeIdentity(cluster.config.identityExchange, identity, cluster.name);
  const refusal = cluster.access.refusal(record.info, identity, record.client);
  if (refusal)
    throw new GatewayError('KG_ACCESS_DENIED', 'Forbidden', `user "${identity.user}" is ${refusal}`);
  const rule = cluster.routes.match(record.info, identity, record.client);
  record.rule = rule.name;
  trace?.routed(rule.name);
  const policy = cluster.policy(rule);
  const permit = admit(cluster, policy, record.info, identity, longRunning, client);
  return permit instanceof Promise
    ? permit.then((p) => admitted(gw, cluster, policy, p, identity.user, longRunning, trace))
    : admitted(gw, cluster, policy, permit, identity.user, longRunning, trace);
}

function admitted(
  gw: Gateway,
  cluster: ClusterRuntime,
  policy: RulePolicy,
  permit: Permit,
  user: string,
  longRunning: boolean,
  trace: RequestTrace | null,
): Admitted {
  if (longRunning && !policy.exempt && gw.clientLimits.maxLongRunningPerUser > 0)
    permit = withUserSlot(gw, user, permit);
  trace?.admitted();
  return { cluster, policy, permit };
}

/** The authenticate stage alone, by the listener's cluster: fills the record's identity. */
export function authenticateOn(
  gw: Gateway,
  clusterName: string,
  record: AccessRecord,
  input: AuthenticationInput,
  trace: RequestTrace | null,
): Identity | Promise<Identity> {
  const cluster = gw.cluster(clusterName);
  if (!cluster)
    throw new GatewayError(
      'KG_CLUSTER_NOT_FOUND',
      'ServiceUnavailable',
      `cluster "${clusterName}" is not configured in kubegate (yet)`,
      { retryAfter: 5 },
    );
  const identity = cluster.authenticator.identify(input);
  return identity instanceof Promise
    ? identity.then((id) => authenticated(record, id, trace))
    : authenticated(record, identity, trace);
}

function authenticated(record: AccessRecord, identity: Identity, trace: RequestTrace | null): Identity {
  record.identity = identity;
  trace?.authenticated(identity);
  return identity;
}

/** The rule's permit plus one of the user's long-running slots; both released together. */
function withUserSlot(gw: Gateway, user: string, permit: Permit): Permit {
  const slot = gw.longRunningByUser.tryAcquire(user);
  if (slot === null) {
    permit.release();
    throw new GatewayError(
      'KG_USER_LONG_RUNNING_LIMIT',
      'TooManyRequests',
      `too many long-running requests (watches, logs -f, exec…) open for user "${user}": kubegate allows ${gw.clientLimits.maxLongRunningPerUser} (clientLimits.maxLongRunningPerUser)`,
      { retryAfter: 1 + Math.floor(Math.random() * 3) },
    );
  }
  return {
    release() {
      permit.release();
      slot.release();
    },
  };
}
