// The desired state of the nftables tables `kubegate node` owns, as plain data. Each part of the
// agent (service proxy, network policy) produces its tables in this shape; the applier
// (`apply.ts`) turns the difference between what it applied last and what is desired into one
// `nft -f -` transaction: element adds and deletes for sets and maps, and whole-chain rewrites only
// for chains whose rules changed. Keeping per-service and per-pod state in set and map elements
// keeps that transaction small: `nft` reads every named object of a table before each batch.

/** Table families the agent writes. `inet` covers IPv4 and IPv6 in one table (filtering). */
export type NftFamily = 'ip' | 'ip6' | 'inet';

/** A base chain's hook. Priorities are numbers: nft 1.0.6 rejects some names on some hooks. */
export interface NftHook {
  readonly type: 'filter' | 'nat' | 'route';
  readonly hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  readonly priority: number;
  readonly policy?: 'accept' | 'drop';
}

/** A chain: its rules are nft rule statements, one per entry, without the `add rule …` prefix. */
export interface NftChain {
  readonly name: string;
  readonly hook?: NftHook;
  readonly rules: readonly string[];
}

/**
 * A named set (`value` absent) or map (`value` present). `key` and `value` are nft type
 * declarations as written after `type`/`typeof` (e.g. `key: 'ipv4_addr . inet_proto . inet_service'`
 * or, with `typeof: true`, `key: 'ip daddr . meta l4proto . th dport'`). Elements are nft element
 * texts; for maps, `[key, value]` pairs (value e.g. `goto svc-x` or `jump pod-in-ns-a-p`).
 */
export interface NftSet {
  readonly name: string;
  readonly key: string;
  /** Declare with `typeof` (expressions) instead of `type` (data types). */
  readonly typeof?: boolean;
  /** Map value type (`verdict`, `ipv4_addr`, …); absent for a set. */
  readonly value?: string;
  readonly flags?: readonly ('interval' | 'timeout' | 'constant' | 'dynamic')[];
  /** Default element timeout in seconds (`timeout` flag sets). */
  readonly timeoutSeconds?: number;
  readonly elements: readonly string[] | readonly (readonly [string, string])[];
  /** A comment on the set declaration (nft `comment "…"`). */
  readonly comment?: string;
}

/** One table the agent owns. Names start with `kubegate-`; nothing else is ever touched. */
export interface NftTable {
  readonly family: NftFamily;
  readonly name: string;
  readonly chains: readonly NftChain[];
  readonly sets: readonly NftSet[];
}

/** Everything the agent wants programmed in a node's network namespace. */
export interface NftRuleset {
  readonly tables: readonly NftTable[];
}
