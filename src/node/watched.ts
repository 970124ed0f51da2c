import type { KubeClient } from '../kube/client.ts';
import type { InformerList, KubeObject } from '../kube/informer.ts';

/** The collections the agent lists and watches. */
export const NODE_WATCHED = {
  services: '/api/v1/services',
  endpointSlices: '/apis/discovery.k8s.io/v1/endpointslices',
  nodes: '/api/v1/nodes',
  pods: '/api/v1/pods',
  namespaces: '/api/v1/namespaces',
  networkPolicies: '/apis/networking.k8s.io/v1/networkpolicies',
} as const;

export type WatchedKind = keyof typeof NODE_WATCHED;

/** The first list of every watched collection, sent before the agent exists. */
export type FirstLists = Record<WatchedKind, Promise<InformerList<KubeObject>>>;

/**
 * Sends the first list of every collection now. `kubegate node` calls this before it loads the
 * translations, the applier and the metrics: the API server answers while the process loads them
 * (at 1,000 Services both take a few hundred ms at start). The agent's informers take the answers.
 */
export function sendFirstLists(client: KubeClient): FirstLists {
  const lists = {} as FirstLists;
  for (const [kind, path] of Object.entries(NODE_WATCHED) as [WatchedKind, string][]) {
    const sent = client.json<InformerList<KubeObject>>('GET', path);
    // Its informer awaits it and handles a failure; until then it is not an unhandled rejection.
    sent.catch(() => {});
    lists[kind] = sent;
  }
  return lists;
}
