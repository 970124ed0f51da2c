import { BgpMessageError } from './errors.ts';
import { OPEN, OPEN_MESSAGE_ERROR } from './notification-codes.ts';
import type { AfiSafi, Capabilities, GracefulRestartCapability } from './types.ts';

export const CAP_MULTIPROTOCOL = 1;
export const CAP_ROUTE_REFRESH = 2;
export const CAP_GRACEFUL_RESTART = 64;
export const CAP_FOUR_OCTET_AS = 65;

const OPT_PARAM_CAPABILITIES = 2;

/** The optional parameters of an OPEN: one Capabilities parameter per capability. */
export function encodeCapabilities(caps: Capabilities): Buffer {
  const list: Buffer[] = [];
  const cap = (code: number, value: Buffer) =>
    list.push(Buffer.concat([Buffer.from([code, value.length]), value]));
  for (const { afi, safi } of caps.multiprotocol) {
    const v = Buffer.alloc(4);
    v.writeUInt16BE(afi, 0);
    v[3] = safi;
    cap(CAP_MULTIPROTOCOL, v);
  }
  if (caps.routeRefresh) cap(CAP_ROUTE_REFRESH, Buffer.alloc(0));
  if (caps.fourOctetAs !== undefined) {
    const v = Buffer.alloc(4);
    v.writeUInt32BE(caps.fourOctetAs);
    cap(CAP_FOUR_OCTET_AS, v);
  }
  if (caps.gracefulRestart) cap(CAP_GRACEFUL_RESTART, encodeGracefulRestart(caps.gracefulRestart));
  for (const u of caps.unknown) cap(u.code, u.value);
  return Buffer.concat(list.map((c) => Buffer.concat([Buffer.from([OPT_PARAM_CAPABILITIES, c.length]), c])));
}

function encodeGracefulRestart(gr: GracefulRestartCapability): Buffer {
  const v = Buffer.alloc(2 + 4 * gr.families.length);
  v.writeUInt16BE((gr.restarting ? 0x8000 : 0) | (gr.time & 0x0fff), 0);
  gr.families.forEach((f, i) => {
    v.writeUInt16BE(f.afi, 2 + i * 4);
    v[4 + i * 4] = f.safi;
    v[5 + i * 4] = f.forwardingPreserved ? 0x80 : 0;
  });
  return v;
}

/** Reads the optional parameters of an OPEN (RFC 5492 §4); capabilities may share a parameter. */
export function decodeCapabilities(params: Buffer): Capabilities | BgpMessageError {
  const multiprotocol: AfiSafi[] = [];
  const unknown: { code: number; value: Buffer }[] = [];
  let routeRefresh = false;
  let fourOctetAs: number | undefined;
  let gracefulRestart: GracefulRestartCapability | undefined;
  const bad = (what: string) => new BgpMessageError(OPEN_MESSAGE_ERROR, 0, what);
  for (let at = 0; at < params.length;) {
    if (at + 2 > params.length) return bad('optional parameter header overruns');
    const type = params[at];
    const len = params[at + 1];
    const body = params.subarray(at + 2, at + 2 + len);
    if (body.length < len) return bad('optional parameter overruns');
    at += 2 + len;
    if (type !== OPT_PARAM_CAPABILITIES)
      return new BgpMessageError(OPEN_MESSAGE_ERROR, OPEN.unsupportedOptionalParameter, `parameter ${type}`);
    for (let c = 0; c < body.length;) {
      if (c + 2 > body.length) return bad('capability header overruns');
      const code = body[c];
      const clen = body[c + 1];
      const value = body.subarray(c + 2, c + 2 + clen);
      if (value.length < clen) return bad(`capability ${code} overruns`);
      c += 2 + clen;
      switch (code) {
        case CAP_MULTIPROTOCOL:
          if (clen !== 4) return bad('multiprotocol capability length');
          multiprotocol.push({ afi: value.readUInt16BE(0), safi: value[3] });
          break;
        case CAP_ROUTE_REFRESH:
          routeRefresh = true;
          break;
        case CAP_FOUR_OCTET_AS:
          if (clen !== 4) return bad('4-octet AS capability length');
          fourOctetAs = value.readUInt32BE(0);
          break;
        case CAP_GRACEFUL_RESTART: {
          if (clen < 2 || (clen - 2) % 4 !== 0) return bad('graceful restart capability length');
          const head = value.readUInt16BE(0);
          const families = [];
          for (let f = 2; f < clen; f += 4)
            families.push({
              afi: value.readUInt16BE(f),
              safi: value[f + 2],
              forwardingPreserved: (value[f + 3] & 0x80) !== 0,
            });
          gracefulRestart = { restarting: (head & 0x8000) !== 0, time: head & 0x0fff, families };
          break;
        }
        default:
          unknown.push({ code, value: Buffer.from(value) });
      }
    }
  }
  return { multiprotocol, routeRefresh, fourOctetAs, gracefulRestart, unknown };
}
