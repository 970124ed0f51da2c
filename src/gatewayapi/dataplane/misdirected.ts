import type { TLSSocket } from 'node:tls';
import { requestHost, type HostTable } from './host-table.ts';
import type { ListenerTable } from './tables.ts';

/**
 * Whether an HTTPS request went to the wrong listener: its Host (`:authority`) selects another
 * listener of the port than the TLS server name (SNI) of its connection did (RFC 9110 §15.5.20:
 * 421 Misdirected Request). HTTP/2 clients reuse a connection for every host its certificate
 * covers (connection coalescing, RFC 9113 §9.1.1), so a shared or wildcard certificate brings
 * requests for one listener over a connection made for another; the 421 tells the client to open
 * a new one. A connection without SNI (an IP address) and a Host no listener serves (404) are not
 * misdirected.
 */
export function isMisdirected(
  listeners: HostTable<ListenerTable>,
  socket: TLSSocket,
  byHost: ListenerTable | undefined,
): boolean {
  if (byHost === undefined) return false;
  // `false` without SNI; HTTP/2 requests reach the session's socket through a proxy that forwards it.
  const sni: unknown = socket.servername;
  if (typeof sni !== 'string' || sni === '') return false;
  return listeners.lookup(requestHost(sni)) !== byHost;
}
