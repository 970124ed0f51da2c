import type { Namespace, NetworkPolicy, Pod } from './objects.ts';

/** What the compiler needs to know about the cluster, as the agent's informers see it. */
export interface PolicyInput {
  readonly nodeName: string;
  /** The node's own addresses: traffic from them to local pods (kubelet probes) is allowed. */
  readonly nodeIPs: readonly string[];
  /** The node's pod CIDRs: an address inside them that is no known pod's is dropped. */
  readonly podCIDRs: readonly string[];
  readonly pods: readonly Pod[];
  readonly namespaces: readonly Namespace[];
  readonly networkPolicies: readonly NetworkPolicy[];
}

/** Something in an object the compiler cannot express; the agent turns it into an Event. */
export interface PolicyProblem {
  readonly object: { readonly kind: string; readonly namespace: string; readonly name: string };
  readonly field: string;
  readonly message: string;
}
