import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import {
  BgpMessageError,
  decodeMessage,
  encodeOpen,
  MessageReader,
  type DecodedMessage,
} from '../../../../src/node/bgp/message/index.ts';

/** A scripted BGP peer on a real socket: it records what it receives and sends what the test says. */
export class RawPeer {
  readonly server: Server;
  readonly received: DecodedMessage[] = [];
  socket?: Socket;
  ended = false;
  #waiters: (() => void)[] = [];

  constructor() {
    this.server = createServer((s) => this.#attach(s));
  }

  async listen(): Promise<number> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as AddressInfo).port;
  }

  #attach(s: Socket): void {
    this.socket = s;
    const reader = new MessageReader();
    s.on('data', (chunk) => {
      const frames = reader.push(chunk);
      if (frames instanceof BgpMessageError) throw frames;
      for (const f of frames) {
        const m = decodeMessage(f, { fourOctetAs: true });
        if (m instanceof BgpMessageError) throw m;
        this.received.push(m);
      }
      this.#wake();
    });
    s.on('close', () => {
      this.ended = true;
      this.#wake();
    });
    s.on('error', () => {});
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Waits (bounded) until `ready()` holds. */
  async until(ready: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ready()) {
      if (Date.now() > deadline) throw new Error('raw peer: timed out waiting');
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  sendOpen(asn: number, routerId: string, holdTime = 90): void {
    this.socket!.write(
      encodeOpen({
        asn,
        holdTime,
        routerId,
        capabilities: {
          multiprotocol: [{ afi: 1, safi: 1 }],
          routeRefresh: true,
          fourOctetAs: asn,
          unknown: [],
        },
      }),
    );
  }

  types(): string[] {
    return this.received.map((m) => m.type);
  }

  close(): void {
    this.socket?.destroy();
    this.server.close();
  }
}
