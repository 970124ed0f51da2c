import { rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A unix socket whose connections are joined to a TCP port on this host's loopback: how a process
 * in a lab network namespace (where 127.0.0.1 is its own) reaches kubegate's API endpoint. Bytes
 * only; TLS runs end to end through it.
 */
export class APISocket {
  readonly path: string;
  readonly #server: Server;
  readonly #open = new Set<Socket>();

  private constructor(path: string, port: number) {
    this.path = path;
    this.#server = createServer((client) => {
      const upstream = createConnection({ host: '127.0.0.1', port });
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      for (const s of [client, upstream]) {
        this.#open.add(s);
        s.once('close', () => this.#open.delete(s));
        s.on('error', end);
      }
      client.pipe(upstream).pipe(client);
    });
  }

  static async start(path: string, port: number): Promise<APISocket> {
    await rm(path, { force: true });
    const s = new APISocket(path, port);
    await new Promise<void>((resolve, reject) => {
      s.#server.once('error', reject);
      s.#server.listen(path, resolve);
    });
    return s;
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#open) s.destroy();
    await closed;
    await rm(this.path, { force: true });
  }
}
