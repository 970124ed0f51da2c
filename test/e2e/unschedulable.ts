/** A nodeSelector no node of the dev clusters matches: a pod with it stays unscheduled. */
export const NO_NODE = { 'kubegate.io/test-no-such-node': 'true' };

/**
 * `kubectl run` flag that keeps a pod unscheduled, for tests of what the apiserver answers about
 * a pod without a node, or of a pod whose status a test writes itself.
 */
export const UNSCHEDULABLE = `--overrides=${JSON.stringify({ apiVersion: 'v1', spec: { nodeSelector: NO_NODE } })}`;
