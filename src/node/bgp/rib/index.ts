// Adj-RIB-In, Loc-RIB, Adj-RIB-Out, best path selection and routing policy.
export type { PeerView, Route, RouteAttributes, RouteSource } from './route.ts';
export { sourceKey } from './route.ts';
export { comparePaths, selectBest } from './best-path.ts';
export { LocRib, type LocRibChange } from './loc-rib.ts';
export { AdjRibIn } from './adj-rib-in.ts';
export { AdjRibOut, type SelfNextHops } from './adj-rib-out.ts';
export { exportRoute, importLoops, type LocalSpeaker } from './export-rules.ts';
export {
  addCommunities,
  chainPolicies,
  parseCommunity,
  prefixWithin,
  prependAsPath,
  rejectPrefixesWithin,
  type ExportPolicy,
  type ImportPolicy,
} from './policy.ts';
