// TCP MD5 signatures (RFC 2385) through the Linux TCP_MD5SIG socket option. Node has no way to set
// it, so libc's socket calls are reached through koffi (docs/dependencies.md).
import { createRequire } from 'node:module';
import { isIPv4 } from 'node:net';
import { Socket, type Server } from 'node:net';
import { addressBytes } from '../message/index.ts';

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const IPPROTO_TCP = 6;
const TCP_MD5SIG = 14;
const SOL_SOCKET = 1;
const SO_SNDTIMEO = 21;
const SHUT_RDWR = 2;
const TCP_MD5SIG_MAXKEYLEN = 80;

/** The failure of a socket call, with the call's name and errno. */
export class TcpMd5Error extends Error {
  override name = 'TcpMd5Error';
  readonly code = 'KG_BGP_TCP_MD5';
  readonly errno: number;
  constructor(call: string, errno: number) {
    super(`${call} failed: errno ${errno}`);
    this.errno = errno;
  }
}

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, length: number): number;
  bind(fd: number, addr: Buffer, length: number): number;
  connect: { async(fd: number, addr: Buffer, length: number, cb: (err: unknown, rc: number) => void): void };
  shutdown(fd: number, how: number): number;
  close(fd: number): number;
  errno(): number;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  const koffi = createRequire(import.meta.url)('koffi') as {
    load(name: string): { func(decl: string): (...args: unknown[]) => number };
    errno(): number;
  };
  const c = koffi.load('libc.so.6');
  libc = {
    socket: c.func('int socket(int, int, int)') as Libc['socket'],
    setsockopt: c.func('int setsockopt(int, int, int, const void *, uint32_t)') as Libc['setsockopt'],
    bind: c.func('int bind(int, const void *, uint32_t)') as Libc['bind'],
    connect: c.func('int connect(int, const void *, uint32_t)') as unknown as Libc['connect'],
    shutdown: c.func('int shutdown(int, int)') as Libc['shutdown'],
    close: c.func('int close(int)') as Libc['close'],
    errno: () => koffi.errno(),
  };
  return libc;
}

/** A struct sockaddr_in or sockaddr_in6; an IPv4 address on an IPv6 socket is v4-mapped. */
export function sockaddr(address: string, port: number, family: 4 | 6): Buffer {
  if (family === 4) {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(AF_INET, 0);
    b.writeUInt16BE(port, 2);
    b.set(addressBytes(address), 4);
    return b;
  }
  const b = Buffer.alloc(28);
  b.writeUInt16LE(AF_INET6, 0);
  b.writeUInt16BE(port, 2);
  b.set(addressBytes(isIPv4(address) ? `::ffff:${address}` : address), 8);
  return b;
}

/** struct tcp_md5sig for one peer address; an empty key removes it. */
function md5sig(peer: string, key: string, family: 4 | 6): Buffer {
  const k = Buffer.from(key);
  if (k.length > TCP_MD5SIG_MAXKEYLEN)
    throw new TypeError(`TCP MD5 key longer than ${TCP_MD5SIG_MAXKEYLEN} octets`);
  const b = Buffer.alloc(128 + 1 + 1 + 2 + 4 + TCP_MD5SIG_MAXKEYLEN);
  sockaddr(peer, 0, family).copy(b, 0);
  b.writeUInt16LE(k.length, 130);
  k.copy(b, 136);
  return b;
}

function setKey(fd: number, peer: string, key: string, family: 4 | 6): void {
  const c = load();
  const v = md5sig(peer, key, family);
  if (c.setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, v, v.length) !== 0)
    throw new TcpMd5Error('setsockopt(TCP_MD5SIG)', c.errno());
}

/**
 * Installs (or with an empty key removes) the key for a peer on a listening server. The kernel
 * then drops that address' unsigned SYNs on every port, so one peer address has one key.
 */
export function setListenerKey(server: Server, peer: string, key: string): void {
  const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
  const addr = server.address();
  if (fd === undefined || fd < 0 || addr === null || typeof addr === 'string')
    throw new TypeError('setListenerKey: the server is not listening on TCP');
  setKey(fd, peer, key, addr.family === 'IPv6' ? 6 : 4);
}

/** Connects to a peer with the key set before the SYN; the socket is handed to Node once connected. */
export function connectWithKey(
  o: { host: string; port: number; localAddress?: string; key: string; timeoutMs?: number },
  signal?: AbortSignal,
): Promise<Socket> {
  const c = load();
  const family = isIPv4(o.host) ? 4 : 6;
  const fd = c.socket(family === 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Promise.reject(new TcpMd5Error('socket', c.errno()));
  try {
    setKey(fd, o.host, o.key, family);
    // A blocking connect runs on koffi's worker thread, bounded by SO_SNDTIMEO.
    const tv = Buffer.alloc(16);
    tv.writeBigInt64LE(BigInt(Math.floor((o.timeoutMs ?? 10_000) / 1000)), 0);
    if (c.setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, tv, 16) !== 0)
      throw new TcpMd5Error('setsockopt(SO_SNDTIMEO)', c.errno());
    if (o.localAddress) {
      const la = sockaddr(o.localAddress, 0, family);
      if (c.bind(fd, la, la.length) !== 0) throw new TcpMd5Error('bind', c.errno());
    }
  } catch (err) {
    c.close(fd);
    return Promise.reject(err);
  }
  const sa = sockaddr(o.host, o.port, family);
  return new Promise((resolve, reject) => {
    const abort = () => c.shutdown(fd, SHUT_RDWR);
    signal?.addEventListener('abort', abort, { once: true });
    c.connect.async(fd, sa, sa.length, (err, rc) => {
      signal?.removeEventListener('abort', abort);
      if (err || rc !== 0 || signal?.aborted) {
        const e = err instanceof Error ? err : new TcpMd5Error('connect', c.errno());
        c.close(fd);
        reject(e);
        return;
      }
      resolve(new Socket({ fd, readable: true, writable: true }));
    });
  });
}
