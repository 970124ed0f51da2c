// The server_name of a TLS ClientHello, read from the first bytes a client sends, without
// terminating TLS (RFC 8446 §4.1.2, RFC 6066 §3). The hello may span several handshake records;
// anything that is not a well-formed ClientHello is an error, never a guess.

/** The bytes are not (the start of) a TLS ClientHello, or the hello is malformed. */
export class ClientHelloError extends Error {
  override name = 'ClientHelloError';
  readonly code: 'NOT_TLS' | 'MALFORMED' | 'TOO_LARGE';
  constructor(code: ClientHelloError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

const RECORD_HEADER = 5;
const CONTENT_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
const EXTENSION_SERVER_NAME = 0;
const NAME_TYPE_HOST_NAME = 0;
/** A record's payload is at most 2^14 bytes (RFC 8446 §5.1). */
const MAX_RECORD = 16_384;

/**
 * What the bytes so far say: `null` while the ClientHello is incomplete; once it is whole, the
 * lower-case host name it asks for (`''` when it sends none). Throws ClientHelloError for bytes
 * that are not a ClientHello, or a hello longer than `maxHelloBytes`.
 */
export function readServerName(data: Buffer, maxHelloBytes: number): string | null {
  // Join the handshake fragments of the leading handshake records.
  const fragments: Buffer[] = [];
  let have = 0;
  let need = -1;
  for (let at = 0; ;) {
    if (data.length - at < RECORD_HEADER) return null;
    if (data[at] !== CONTENT_HANDSHAKE)
      throw new ClientHelloError(at === 0 ? 'NOT_TLS' : 'MALFORMED', 'not a TLS handshake record');
    if (data[at + 1] !== 3) throw new ClientHelloError('NOT_TLS', 'not a TLS record version');
    const length = data.readUInt16BE(at + 3);
    if (length === 0 || length > MAX_RECORD) throw new ClientHelloError('MALFORMED', 'bad TLS record length');
    if (data.length - at - RECORD_HEADER < length) return null;
    fragments.push(data.subarray(at + RECORD_HEADER, at + RECORD_HEADER + length));
    have += length;
    at += RECORD_HEADER + length;
    if (need < 0 && have >= 4) {
      const head = fragments.length === 1 ? fragments[0] : Buffer.concat(fragments);
      if (head[0] !== HANDSHAKE_CLIENT_HELLO) throw new ClientHelloError('NOT_TLS', 'not a ClientHello');
      need = 4 + head.readUIntBE(1, 3);
      if (need > maxHelloBytes) throw new ClientHelloError('TOO_LARGE', `ClientHello of ${need} bytes`);
    }
    if (need >= 0 && have >= need) break;
  }
  const hello = Buffer.concat(fragments).subarray(4, need);
  return serverNameOf(hello);
}

/** The host_name of a ClientHello body (after the 4-byte handshake header). */
function serverNameOf(b: Buffer): string {
  const r = new Reader(b);
  r.skip(2 + 32); // legacy_version, random
  r.skip(bounded(r.u8(), 0, 32, 'legacy_session_id')); // RFC 8446 4.1.2: <0..32>
  const suites = bounded(r.u16(), 2, 0xfffe, 'cipher_suites');
  if (suites % 2 !== 0) throw new ClientHelloError('MALFORMED', 'cipher_suites has an odd length');
  r.skip(suites);
  r.skip(bounded(r.u8(), 1, 255, 'legacy_compression_methods'));
  if (r.done()) return ''; // no extensions at all
  const extensions = r.sub(r.u16());
  if (!r.done()) throw new ClientHelloError('MALFORMED', 'bytes after the extensions');
  while (!extensions.done()) {
    const type = extensions.u16();
    const body = extensions.sub(extensions.u16());
    if (type !== EXTENSION_SERVER_NAME) continue;
    const list = body.sub(body.u16());
    while (!list.done()) {
      const nameType = list.u8();
      const name = list.bytes(list.u16());
      if (nameType === NAME_TYPE_HOST_NAME) return hostName(name);
    }
    return '';
  }
  return '';
}

function bounded(n: number, min: number, max: number, field: string): number {
  if (n < min || n > max) throw new ClientHelloError('MALFORMED', `${field} length ${n} is out of range`);
  return n;
}

// RFC 6066: an ASCII host name without a trailing dot; anything else is refused rather than routed.
const HOST_NAME = /^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$/;

function hostName(raw: Buffer): string {
  const name = raw.toString('latin1').toLowerCase();
  if (name.length === 0 || name.length > 253 || !HOST_NAME.test(name))
    throw new ClientHelloError('MALFORMED', 'server_name is not a host name');
  return name;
}

/** Bounds-checked reads over a buffer; any overrun is a malformed hello. */
class Reader {
  readonly #b: Buffer;
  #at = 0;
  constructor(b: Buffer) {
    this.#b = b;
  }
  #take(n: number): number {
    const at = this.#at;
    if (n < 0 || at + n > this.#b.length) throw new ClientHelloError('MALFORMED', 'truncated ClientHello');
    this.#at = at + n;
    return at;
  }
  u8(): number {
    return this.#b[this.#take(1)];
  }
  u16(): number {
    return this.#b.readUInt16BE(this.#take(2));
  }
  skip(n: number): void {
    this.#take(n);
  }
  bytes(n: number): Buffer {
    const at = this.#take(n);
    return this.#b.subarray(at, at + n);
  }
  sub(n: number): Reader {
    return new Reader(this.bytes(n));
  }
  done(): boolean {
    return this.#at === this.#b.length;
  }
}
