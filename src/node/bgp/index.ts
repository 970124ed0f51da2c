// The BGP speaker of `kubegate node` (docs/bgp.md).
export { Speaker, type NeighborConfig, type SpeakerConfig, type SpeakerEvent } from './speaker.ts';
export type { SessionState, SessionDown } from './session/session.ts';
export type { LocRibChange, Route, ExportPolicy, ImportPolicy } from './rib/index.ts';
export {
  addCommunities,
  prependAsPath,
  rejectPrefixesWithin,
  parseCommunity,
  chainPolicies,
} from './rib/index.ts';
