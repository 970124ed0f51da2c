import { isFrontProxyHeader, isImpersonationHeader } from '../auth/index.ts';

// Hop-by-hop headers (RFC 9110 §7.6.1) plus those HTTP/2 forbids; `te: trailers` is the one
// hop-by-hop value HTTP/2 allows and is kept.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'proxy-authorization',
  'proxy-authenticate',
  'host',
  'http2-settings',
]);

/** Whether a client header is dropped before forwarding: hop-by-hop, credentials, identity claims. */
export function isDroppedRequestHeader(name: string): boolean {
  return (
    name.charCodeAt(0) === 58 /* ':' */ ||
    HOP_BY_HOP.has(name) ||
    name === 'authorization' ||
    isImpersonationHeader(name) ||
    isFrontProxyHeader(name)
  );
}

/** Names listed in `Connection`, which are hop-by-hop too. */
export function connectionTokens(value: string | string[] | undefined): Set<string> | null {
  if (value === undefined) return null;
  const s = Array.isArray(value) ? value.join(',') : value;
  const out = new Set<string>();
  for (const t of s.split(',')) {
    const n = t.trim().toLowerCase();
    if (n) out.add(n);
  }
  return out.size > 0 ? out : null;
}

/** Response headers that must not be copied to the client. */
export function isDroppedResponseHeader(name: string): boolean {
  return name.charCodeAt(0) === 58 || HOP_BY_HOP.has(name);
}
