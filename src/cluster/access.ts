import type { AccessConfig } from '../config/model.ts';
import type { Identity, RequestInfo } from '../request/types.ts';
import { compileRules, type RouteTable } from '../routing/index.ts';

type Principals = NonNullable<AccessConfig['allow']>;

/** One rule per kind of principal, so that any one listed user, group or address matches. */
function anyOf(p: Principals | undefined): RouteTable | null {
  if (!p) return null;
  const rules = [];
  if (p.users?.length) rules.push({ name: 'users', match: { users: [...p.users] } });
  if (p.groups?.length) rules.push({ name: 'groups', match: { groups: [...p.groups] } });
  if (p.clientCIDRs?.length) rules.push({ name: 'client-cidrs', match: { clientCIDRs: [...p.clientCIDRs] } });
  return compileRules(rules, {});
}

/** Allow and deny lists of a cluster, compiled with the same matching as rules. */
export class AccessPolicy {
  readonly #allow: RouteTable | null;
  readonly #deny: RouteTable | null;

  constructor(config: AccessConfig) {
    this.#allow = anyOf(config.allow);
    this.#deny = anyOf(config.deny);
  }

  /** Why the request may not use the cluster, or null when it may. */
  refusal(info: RequestInfo, identity: Identity, clientIP: string): string | null {
    const denied = this.#deny?.match(info, identity, clientIP);
    if (denied && denied.index >= 0) return `denied by the cluster's access list (${denied.name})`;
    if (this.#allow && this.#allow.match(info, identity, clientIP).index < 0)
      return "not on the cluster's allow list";
    return null;
  }
}
