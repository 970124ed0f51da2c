import {
  encodeUpdate,
  MAX_MESSAGE_LENGTH,
  nlriSize,
  type DecodeContext,
  type Family,
  type PathAttributes,
} from '../message/index.ts';
import type { RouteAttributes } from './route.ts';

// Room for the header, the two length fields and an MP attribute's own header beyond the estimate.
const OVERHEAD = 19 + 4 + 16;

function chunks(prefixes: readonly string[], room: number): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let used = 0;
  for (const p of prefixes) {
    const n = nlriSize(p);
    if (used + n > room && cur.length) {
      out.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(p);
    used += n;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** UPDATEs announcing prefixes of one family with one set of attributes, each within 4096 octets. */
export function packAnnouncements(
  family: Family,
  attributes: RouteAttributes,
  nextHops: readonly string[],
  prefixes: readonly string[],
  ctx: DecodeContext,
): Buffer[] {
  const base: PathAttributes =
    family === 'ipv4-unicast'
      ? { ...attributes, nextHop: nextHops[0] }
      : { ...attributes, mpReach: { family, nextHops, nlri: [] } };
  const room =
    MAX_MESSAGE_LENGTH - OVERHEAD - encodeUpdate({ withdrawn: [], attributes: base, nlri: [] }, ctx).length;
  return chunks(prefixes, room).map((nlri) =>
    family === 'ipv4-unicast'
      ? encodeUpdate({ withdrawn: [], attributes: base, nlri }, ctx)
      : encodeUpdate(
          { withdrawn: [], attributes: { ...base, mpReach: { family, nextHops, nlri } }, nlri: [] },
          ctx,
        ),
  );
}

/** UPDATEs withdrawing prefixes of one family. */
export function packWithdrawals(family: Family, prefixes: readonly string[], ctx: DecodeContext): Buffer[] {
  return chunks(prefixes, MAX_MESSAGE_LENGTH - OVERHEAD).map((withdrawn) =>
    family === 'ipv4-unicast'
      ? encodeUpdate({ withdrawn, attributes: {}, nlri: [] }, ctx)
      : encodeUpdate({ withdrawn: [], attributes: { mpUnreach: { family, withdrawn } }, nlri: [] }, ctx),
  );
}
