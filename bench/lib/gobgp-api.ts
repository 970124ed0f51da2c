// A few calls of GoBGP's gRPC API (proto/api/gobgp.proto, v4) over its unix socket, with the
// protobuf written by hand: the gobgp CLI adds and deletes one path per process, far too slow for
// 10,000 routes, and polling a RIB count with it costs a process per poll.
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { connect as netConnect } from 'node:net';

const IPV4_UNICAST = [1, 1] as const;
const TABLE_GLOBAL = 1;
const SESSION_ESTABLISHED = 6;

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

const tagged = (field: number, wire: number) => varint((field << 3) | wire);
const uintField = (field: number, v: number) => [...tagged(field, 0), ...varint(v)];
const bytesField = (field: number, b: readonly number[] | Buffer) => [
  ...tagged(field, 2),
  ...varint(b.length),
  ...b,
];

const FAMILY = [...uintField(1, IPV4_UNICAST[0]), ...uintField(2, IPV4_UNICAST[1])];

/** One IPv4 unicast Path, NLRI and attributes given as BGP wire bytes (nlri_binary, pattrs_binary). */
function ipv4Path(prefix: string, nextHop: string, withdraw: boolean): number[] {
  const [addr, len] = prefix.split('/');
  const octets = addr!.split('.').map(Number);
  const bits = Number(len);
  const nlri = [bits, ...octets.slice(0, Math.ceil(bits / 8))];
  const origin = [0x40, 1, 1, 0];
  const asPath = [0x40, 2, 0];
  const nh = [0x40, 3, 4, ...nextHop.split('.').map(Number)];
  return [
    ...(withdraw ? uintField(5, 1) : []),
    ...bytesField(9, FAMILY),
    ...bytesField(20, nlri),
    ...bytesField(21, origin),
    ...bytesField(21, asPath),
    ...bytesField(21, nh),
  ];
}

function frame(message: readonly number[]): Buffer {
  const b = Buffer.alloc(5 + message.length);
  b.writeUInt32BE(message.length, 1);
  Buffer.from(message).copy(b, 5);
  return b;
}

/** The first value of each field of a protobuf message: a number (varint) or the bytes (length-delimited). */
function fields(b: Buffer): Map<number, number | Buffer> {
  const out = new Map<number, number | Buffer>();
  let i = 0;
  const read = () => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const c = b[i++]!;
      v += (c & 0x7f) * mul;
      mul *= 128;
      if (c < 0x80) return v;
    }
  };
  while (i < b.length) {
    const key = read();
    const field = Math.floor(key / 8);
    let value: number | Buffer;
    switch (key & 7) {
      case 0:
        value = read();
        break;
      case 2: {
        const n = read();
        value = b.subarray(i, i + n);
        i += n;
        break;
      }
      case 1:
        value = b.subarray(i, (i += 8));
        break;
      case 5:
        value = b.subarray(i, (i += 4));
        break;
      default:
        throw new Error(`gobgp api: unexpected wire type ${key & 7}`);
    }
    if (!out.has(field)) out.set(field, value);
  }
  return out;
}

const submessage = (v: number | Buffer | undefined) => (Buffer.isBuffer(v) ? v : Buffer.alloc(0));

/** A GoBGP daemon's API on `unix://<socket>`. */
export class GobgpApi {
  readonly #socket: string;
  #session?: ClientHttp2Session;

  constructor(socket: string) {
    this.#socket = socket;
  }

  #connect(): ClientHttp2Session {
    if (this.#session && !this.#session.closed && !this.#session.destroyed) return this.#session;
    const s = http2Connect('http://localhost', { createConnection: () => netConnect(this.#socket) });
    s.on('error', () => s.destroy());
    this.#session = s;
    return s;
  }

  /** One call: request messages out, the response message back (gRPC status checked). */
  #call(method: string, messages: readonly (readonly number[])[]): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const req = this.#connect().request({
        ':method': 'POST',
        ':path': `/api.GoBgpService/${method}`,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let message = '';
      const take = (h: Record<string, unknown>) => {
        if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
        if (h['grpc-message'] !== undefined) message = decodeURIComponent(String(h['grpc-message']));
      };
      req.on('response', take);
      req.on('trailers', take);
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('error', reject);
      req.on('end', () => {
        if (status !== '0') return reject(new Error(`gobgp api ${method}: status ${status} ${message}`));
        const body = Buffer.concat(chunks);
        resolve(body.length >= 5 ? body.subarray(5, 5 + body.readUInt32BE(1)) : Buffer.alloc(0));
      });
      for (const m of messages) req.write(frame(m));
      req.end();
    });
  }

  /** Destinations in the global (Loc-)RIB for IPv4 unicast. */
  async globalDestinations(): Promise<number> {
    const r = await this.#call('GetTable', [[...uintField(1, TABLE_GLOBAL), ...bytesField(2, FAMILY)]]);
    const n = fields(r).get(1);
    return typeof n === 'number' ? n : 0;
  }

  /** Whether the session with `address` is Established (ListPeer: peer.state.session_state). */
  async established(address: string): Promise<boolean> {
    const r = await this.#call('ListPeer', [bytesField(1, Buffer.from(address))]);
    const state = fields(submessage(fields(submessage(fields(r).get(1))).get(5))).get(13);
    return state === SESSION_ESTABLISHED;
  }

  /** Originates (or, with `withdraw`, stops originating) IPv4 prefixes, 1,000 paths per stream message. */
  async addPaths(prefixes: readonly string[], nextHop: string, withdraw = false): Promise<void> {
    const messages: number[][] = [];
    for (let i = 0; i < prefixes.length; i += 1000) {
      const m = uintField(1, TABLE_GLOBAL);
      for (const p of prefixes.slice(i, i + 1000)) m.push(...bytesField(3, ipv4Path(p, nextHop, withdraw)));
      messages.push(m);
    }
    await this.#call('AddPathStream', messages);
  }

  close(): void {
    this.#session?.close();
    this.#session = undefined;
  }
}
