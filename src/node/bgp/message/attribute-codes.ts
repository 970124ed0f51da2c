// Path attribute type codes and flags (RFC 4271 §4.3, §5; RFC 1997; RFC 4456; RFC 4760; RFC 8092).

export const FLAG_OPTIONAL = 0x80;
export const FLAG_TRANSITIVE = 0x40;
export const FLAG_PARTIAL = 0x20;
export const FLAG_EXTENDED_LENGTH = 0x10;

export const ATTR_ORIGIN = 1;
export const ATTR_AS_PATH = 2;
export const ATTR_NEXT_HOP = 3;
export const ATTR_MED = 4;
export const ATTR_LOCAL_PREF = 5;
export const ATTR_ATOMIC_AGGREGATE = 6;
export const ATTR_AGGREGATOR = 7;
export const ATTR_COMMUNITIES = 8;
export const ATTR_ORIGINATOR_ID = 9;
export const ATTR_CLUSTER_LIST = 10;
export const ATTR_MP_REACH_NLRI = 14;
export const ATTR_MP_UNREACH_NLRI = 15;
export const ATTR_LARGE_COMMUNITY = 32;

/** The optional and transitive bits each known attribute must carry. */
export const KNOWN_FLAGS: Record<number, number> = {
  [ATTR_ORIGIN]: FLAG_TRANSITIVE,
  [ATTR_AS_PATH]: FLAG_TRANSITIVE,
  [ATTR_NEXT_HOP]: FLAG_TRANSITIVE,
  [ATTR_MED]: FLAG_OPTIONAL,
  [ATTR_LOCAL_PREF]: FLAG_TRANSITIVE,
  [ATTR_ATOMIC_AGGREGATE]: FLAG_TRANSITIVE,
  [ATTR_AGGREGATOR]: FLAG_OPTIONAL | FLAG_TRANSITIVE,
  [ATTR_COMMUNITIES]: FLAG_OPTIONAL | FLAG_TRANSITIVE,
  [ATTR_ORIGINATOR_ID]: FLAG_OPTIONAL,
  [ATTR_CLUSTER_LIST]: FLAG_OPTIONAL,
  [ATTR_MP_REACH_NLRI]: FLAG_OPTIONAL,
  [ATTR_MP_UNREACH_NLRI]: FLAG_OPTIONAL,
  [ATTR_LARGE_COMMUNITY]: FLAG_OPTIONAL | FLAG_TRANSITIVE,
};

/** Well-known communities (RFC 1997, RFC 7999). */
export const COMMUNITY_NO_EXPORT = 0xffffff01;
export const COMMUNITY_NO_ADVERTISE = 0xffffff02;
export const COMMUNITY_NO_EXPORT_SUBCONFED = 0xffffff03;
export const COMMUNITY_BLACKHOLE = 0xffff029a;
