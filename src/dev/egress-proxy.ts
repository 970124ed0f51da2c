import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, isIP, type Socket } from 'node:net';
import { join } from 'node:path';

/** The port kube-apiserver dials on a Node (`status.daemonEndpoints.kubeletEndpoint.Port`). */
export const KUBELET_PORT = 10250;

/** Where the podlet of the node with address `ip` serves its kubelet API. */
export function kubeletSocket(dir: string, ip: string): string {
  return join(dir, 'kubelets', `${ip}.sock`);
}

/**
 * The apiservers' egress proxy (HTTP CONNECT on a unix socket, as konnectivity offers it): a
 * Node's InternalIP exists only inside the lab's network namespaces, so `CONNECT <node>:10250` is
 * joined to that node's podlet socket; an address given to `expose` (the Endpoints address of the
 * gateway's ClusterGateway APIService: Endpoints may not be loopback) is joined to that loopback
 * port; any other target is dialled from here, as the apiserver itself would; a failed dial is
 * answered 502 with the reason.
 */
export class EgressProxy {
  readonly socket: string;
  readonly #dir: string;
  readonly #server: Server;
  readonly #open = new Set<Socket>();
  /** `address:port` → the loopback port it stands for. */
  readonly #exposed = new Map<string, number>();

  private constructor(dir: string, socket: string) {
    this.#dir = dir;
    this.socket = socket;
    this.#server = createServer((_req, res) => {
      res.writeHead(405, { 'content-type': 'text/plain' }).end('only CONNECT is served here\n');
    });
    this.#server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) =>
      this.#connect(req, client, head),
    );
  }

  static async start(dir: string): Promise<EgressProxy> {
    const socket = join(dir, 'egress.sock');
    await rm(socket, { force: true });
    const proxy = new EgressProxy(dir, socket);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(socket, () => resolve());
    });
    return proxy;
  }

  /** Joins `CONNECT address:port` to 127.0.0.1:`port` (an address the Endpoints API accepts). */
  expose(address: string, port: number): void {
    this.#exposed.set(`${address}:${port}`, port);
  }

  #connect(req: IncomingMessage, client: Socket, head: Buffer): void {
    this.#open.add(client);
    client.once('close', () => this.#open.delete(client));
    client.on('error', () => client.destroy());
    const target = parseAuthority(req.url ?? '');
    if (!target) return refuse(client, 400, `bad CONNECT target "${req.url}"`);
    const kubelet = kubeletSocket(this.#dir, target.host);
    const exposed = this.#exposed.get(`${target.host}:${target.port}`);
    const upstream =
      exposed !== undefined
        ? connect(exposed, '127.0.0.1')
        : target.port === KUBELET_PORT && existsSync(kubelet)
          ? connect(kubelet)
          : connect(target.port, target.host);
    this.#open.add(upstream);
    upstream.once('close', () => this.#open.delete(upstream));
    let joined = false;
    upstream.once('connect', () => {
      joined = true;
      client.write('HTTP/1.1 200 Connection established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', (err) => {
      if (!joined) refuse(client, 502, err.message);
      else client.destroy();
    });
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => {
      if (joined) client.destroy();
    });
  }

  async close(): Promise<void> {
    for (const s of this.#open) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await rm(this.socket, { force: true });
  }
}

function parseAuthority(authority: string): { host: string; port: number } | null {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(authority);
  if (!m || isIP(m[1]) === 0) return null;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? { host: m[1], port } : null;
}

function refuse(client: Socket, status: number, message: string): void {
  client.end(
    `HTTP/1.1 ${status} ${status === 400 ? 'Bad Request' : 'Bad Gateway'}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(message) + 1}\r\n\r\n${message}\n`,
  );
}
