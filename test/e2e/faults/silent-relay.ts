import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP relay to a real apiserver that can go silent: while silent it still accepts connections
 * but forwards and answers nothing, and swallows whatever arrives on connections already open, as
 * a hung process behind a listening socket or a black-holed route does. A real apiserver cannot be
 * made to show this (SIGSTOP stops accepting too, the kernel only completes handshakes).
 */
export class SilentRelay {
  readonly #server: Server;
  readonly #target: URL;
  readonly #open = new Set<Socket>();
  silent = false;
  /** Connections accepted while silent: how long each lasted before the gateway gave up on it. */
  readonly silentLifetimesMs: number[] = [];
  /** Connections accepted while silent and still open. */
  #stalled = 0;

  private constructor(target: URL) {
    this.#target = target;
    this.#server = createServer((c) => this.#accept(c));
  }

  static async start(target: string): Promise<SilentRelay> {
    const r = new SilentRelay(new URL(target));
    await new Promise<void>((resolve) => r.#server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  get stalled(): number {
    return this.#stalled;
  }

  #accept(client: Socket): void {
    this.#open.add(client);
    client.on('error', () => {});
    client.on('close', () => this.#open.delete(client));
    if (this.silent) {
      const t0 = performance.now();
      this.#stalled++;
      client.resume(); // read and drop: the peer's writes never block, nothing ever comes back
      client.on('close', () => {
        this.#stalled--;
        this.silentLifetimesMs.push(Math.round(performance.now() - t0));
      });
      return;
    }
    const up = connect(Number(this.#target.port), this.#target.hostname);
    this.#open.add(up);
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
    up.on('close', () => {
      this.#open.delete(up);
      client.destroy();
    });
    client.on('close', () => up.destroy());
    // While silent, bytes in both directions are dropped (not paused: the peer must see nothing,
    // and its writes must not back up into a closed TCP window, which it could notice).
    client.on('data', (c: Buffer) => this.silent || up.write(c));
    up.on('data', (c: Buffer) => this.silent || client.write(c));
  }

  /** Speaks again; connections that lost bytes while silent are cut (they cannot be resumed). */
  restore(): void {
    this.silent = false;
    for (const s of this.#open) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.#open) s.destroy();
    await new Promise((r) => this.#server.close(r));
  }
}
