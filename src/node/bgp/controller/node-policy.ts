import {
  COMMUNITY_BLACKHOLE,
  COMMUNITY_NO_ADVERTISE,
  COMMUNITY_NO_EXPORT,
  COMMUNITY_NO_EXPORT_SUBCONFED,
} from '../message/index.ts';
import { parseCommunity } from '../rib/index.ts';
import { list, parseAsn, parseCidr } from './options.ts';
import { RoutingConfigError } from './errors.ts';

/** kube-router's per-node routing policy annotations. */
export const POLICY_ANNOTATIONS = {
  communities: 'kube-router.io/node.bgp.communities',
  importReject: 'kube-router.io/node.bgp.customimportreject',
  prependAs: 'kube-router.io/path-prepend.as',
  prependCount: 'kube-router.io/path-prepend.repeat-n',
} as const;

/** What this node adds to the routes it sends its external peers, and what it never imports. */
export interface NodePolicy {
  /** RFC 1997 communities on every route to an external peer (sorted, no repeats). */
  readonly communities: readonly number[];
  /** Prepended to the AS path towards eBGP peers: `asn`, `count` times. */
  readonly prepend?: { readonly asn: number; readonly count: number };
  /** Never imported: these prefixes and everything inside them. */
  readonly importReject: readonly string[];
}

const WELL_KNOWN: Record<string, number> = {
  'no-export': COMMUNITY_NO_EXPORT,
  'no-advertise': COMMUNITY_NO_ADVERTISE,
  'no-export-subconfed': COMMUNITY_NO_EXPORT_SUBCONFED,
  blackhole: COMMUNITY_BLACKHOLE,
};

/** "AS:value", a 32-bit number, or a well-known name (`no-export`, …), as kube-router takes them. */
function community(text: string, field: string): number {
  const named = WELL_KNOWN[text.toLowerCase()];
  if (named !== undefined) return named;
  if (/^\d{1,10}$/.test(text) && Number(text) <= 0xffffffff) return Number(text);
  try {
    return parseCommunity(text);
  } catch {
    // named below, with the annotation
  }
  throw new RoutingConfigError(
    'ERR_BGP_BAD_COMMUNITY',
    `${field}: ${JSON.stringify(text)} is not a community ("AS:value", a 32-bit number, or no-export, no-advertise, no-export-subconfed, blackhole)`,
  );
}

/**
 * A Node's routing policy annotations (kube-router's): `node.bgp.communities`,
 * `node.bgp.customimportreject`, and `path-prepend.as` with `path-prepend.repeat-n` (both or
 * neither). Throws RoutingConfigError naming the annotation when one cannot be read.
 */
export function nodePolicy(
  nodeName: string,
  annotations: Readonly<Record<string, string>> | undefined,
): NodePolicy {
  const a = annotations ?? {};
  const field = (k: string): string => `Node ${nodeName} ${k}`;
  const communities = [
    ...new Set(
      list(a[POLICY_ANNOTATIONS.communities]).map((c) => community(c, field(POLICY_ANNOTATIONS.communities))),
    ),
  ].sort((x, y) => x - y);
  const importReject = list(a[POLICY_ANNOTATIONS.importReject]).map((c) =>
    parseCidr(c, 'ERR_BGP_BAD_IMPORT_REJECT', field(POLICY_ANNOTATIONS.importReject)),
  );
  const as = a[POLICY_ANNOTATIONS.prependAs];
  const n = a[POLICY_ANNOTATIONS.prependCount];
  if ((as === undefined) !== (n === undefined))
    throw new RoutingConfigError(
      'ERR_BGP_BAD_PREPEND',
      `${field(as === undefined ? POLICY_ANNOTATIONS.prependAs : POLICY_ANNOTATIONS.prependCount)}: path prepending needs both ${POLICY_ANNOTATIONS.prependAs} and ${POLICY_ANNOTATIONS.prependCount}`,
    );
  let prepend: NodePolicy['prepend'];
  if (as !== undefined && n !== undefined) {
    const count = Number(n.trim());
    if (!/^\d{1,2}$/.test(n.trim()) || count < 1 || count > 64)
      throw new RoutingConfigError(
        'ERR_BGP_BAD_PREPEND',
        `${field(POLICY_ANNOTATIONS.prependCount)}: ${JSON.stringify(n)} is not a count 1..64`,
      );
    prepend = { asn: parseAsn(as, field(POLICY_ANNOTATIONS.prependAs)), count };
  }
  return { communities, importReject, ...(prepend ? { prepend } : {}) };
}
