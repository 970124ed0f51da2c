import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { isIPv6 } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type Packet } from 'dns-packet';
import type { ClusterZone, ZoneRecord } from './zone.ts';

// A small authoritative DNS server for the cluster's zone, over UDP and TCP (RFC 1035 §4.2; TCP
// messages carry a 2-byte length). It never recurses: names outside the zone are REFUSED, so a
// resolver moves on at once instead of waiting.

/** Seconds resolvers may cache an answer (CoreDNS's kubernetes plugin default). */
const TTL = 5;
/** Without EDNS a UDP answer is at most 512 bytes (RFC 1035); longer ones are truncated (TC). */
const UDP_PLAIN_MAX = 512;
const UDP_EDNS_MAX = 1232;
const TCP_IDLE_MS = 10_000;

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
type Rcode = keyof typeof RCODE;

export interface DnsServerOptions {
  /** The zone in force; called per query, so a swapped zone applies at once. */
  zone: () => ClusterZone | null;
  host: string;
  port: number;
  onQuery?: (rcode: Rcode, transport: 'udp' | 'tcp') => void;
}

export class DnsServer {
  readonly #opts: DnsServerOptions;
  #udp: UdpSocket | null = null;
  #tcp: Server | null = null;
  readonly #conns = new Set<Socket>();

  constructor(opts: DnsServerOptions) {
    this.#opts = opts;
  }

  /** Binds UDP and TCP on the same address and port (port 0: the UDP port chosen, then TCP on it). */
  async listen(): Promise<{ host: string; port: number }> {
    const udp = createSocket(isIPv6(this.#opts.host) ? 'udp6' : 'udp4');
    udp.on('message', (msg, rinfo) => {
      const out = this.#answer(msg, 'udp');
      if (out) udp.send(out, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(this.#opts.port, this.#opts.host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    udp.on('error', () => undefined); // a send to a vanished client concerns that client only
    this.#udp = udp;
    const port = udp.address().port;
    const tcp = createServer((sock) => this.#serveTcp(sock));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, this.#opts.host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    this.#tcp = tcp;
    return { host: this.#opts.host, port };
  }

  async close(): Promise<void> {
    for (const c of this.#conns) c.destroy();
    await Promise.all([
      new Promise<void>((r) => (this.#udp ? this.#udp.close(() => r()) : r())),
      new Promise<void>((r) => (this.#tcp ? this.#tcp.close(() => r()) : r())),
    ]);
  }

  #serveTcp(sock: Socket): void {
    this.#conns.add(sock);
    sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
    sock.on('close', () => this.#conns.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const out = this.#answer(buf.subarray(2, 2 + len), 'tcp');
        buf = buf.subarray(2 + len);
        if (!out) return sock.destroy();
        const head = Buffer.alloc(2);
        head.writeUInt16BE(out.length);
        sock.write(Buffer.concat([head, out]));
      }
    });
  }

  /** The response to one message, or null when it is not a query worth answering. */
  #answer(msg: Buffer, transport: 'udp' | 'tcp'): Buffer | null {
    let q: DecodedPacket;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      // Unparseable: answer FORMERR when at least the header is there (RFC 1035 §4.1.1).
      if (msg.length < 12) return null;
      const out = Buffer.from(msg.subarray(0, 12));
      out.writeUInt16BE(0x8000 | (msg.readUInt16BE(2) & 0x7900) | RCODE.FORMERR, 2);
      out.fill(0, 4, 12);
      this.#opts.onQuery?.('FORMERR', transport);
      return out;
    }
    if (q.type === 'response') return null;
    const rd = (q.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
    const edns = q.additionals?.find((a) => a.type === 'OPT');
    const reply = (rcode: Rcode, answers: Answer[] = [], authorities: Answer[] = []): Buffer => {
      this.#opts.onQuery?.(rcode, transport);
      const aa = rcode === 'REFUSED' || rcode === 'FORMERR' ? 0 : dnsPacket.AUTHORITATIVE_ANSWER;
      const packet: Packet = {
        id: q.id,
        type: 'response',
        flags: aa | rd | RCODE[rcode],
        questions: q.questions,
        answers,
        authorities,
        ...(edns
          ? {
              additionals: [
                {
                  type: 'OPT',
                  name: '.',
                  udpPayloadSize: UDP_EDNS_MAX,
                  extendedRcode: 0,
                  ednsVersion: 0,
                  flags: 0,
                  flag_do: false,
                  options: [],
                },
              ],
            }
          : {}),
      };
      const out = dnsPacket.encode(packet);
      const max =
        transport === 'tcp'
          ? Infinity
          : edns
            ? Math.min(UDP_EDNS_MAX, Math.max(UDP_PLAIN_MAX, edns.udpPayloadSize ?? 0))
            : UDP_PLAIN_MAX;
      if (out.length <= max) return out;
      // Too long for this UDP answer: the question alone, with TC set; the resolver retries on TCP.
      return dnsPacket.encode({
        ...packet,
        flags: packet.flags! | dnsPacket.TRUNCATED_RESPONSE,
        answers: [],
        authorities: [],
      });
    };
    const opcode = ((q.flags ?? 0) >> 11) & 0xf;
    if (opcode !== 0) return reply('NOTIMP');
    if (q.questions?.length !== 1) return reply('FORMERR');
    const question = q.questions[0];
    if (question.class !== 'IN' && question.class !== 'ANY') return reply('REFUSED');
    const zone = this.#opts.zone();
    if (zone === null) return reply('SERVFAIL'); // not synced yet
    const apex = zone.apexOf(question.name);
    const soa = (): Answer[] => (apex ? [soaRecord(apex, zone.domain)] : []);
    if (question.type === 'SOA' && apex && apex === question.name.toLowerCase().replace(/\.$/, ''))
      return reply('NOERROR', soa());
    const found = zone.lookup(question.name, question.type);
    if (found.kind === 'refused') return reply('REFUSED');
    if (found.kind === 'nxdomain') return reply('NXDOMAIN', [], soa());
    if (found.records.length === 0) return reply('NOERROR', [], soa());
    const answers = found.records.map((r) => toAnswer(question.name, r));
    // Follow a CNAME inside the zone, as CoreDNS does, so one round trip gives the address.
    const cname = found.records.find((r) => r.type === 'CNAME');
    if (cname && question.type !== 'CNAME') {
      const next = zone.lookup(cname.data as string, question.type);
      if (next.kind === 'answer') answers.push(...next.records.map((r) => toAnswer(cname.data as string, r)));
    }
    return reply('NOERROR', answers);
  }
}

function toAnswer(name: string, r: ZoneRecord): Answer {
  return { name, type: r.type, class: 'IN', ttl: TTL, data: r.data } as Answer;
}

function soaRecord(apex: string, domain: string): Answer {
  return {
    name: apex,
    type: 'SOA',
    class: 'IN',
    ttl: TTL,
    data: {
      mname: `ns.dns.${domain}`,
      rname: `hostmaster.${domain}`,
      serial: 1,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: TTL,
    },
  };
}
