// Runs inside a pod's network namespace during the kernel tests: serves TCP and UDP echo on
// ports 80–83 and answers probe commands (one JSON line each on stdin, one JSON answer on stdout).
import { createSocket } from 'node:dgram';
import { createServer, connect, isIPv6, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

export interface ProbeCommand {
  readonly id: number;
  /** probe: a new connection (TCP) or datagram exchange (UDP); open/send: a long-lived TCP one. */
  readonly op: 'probe' | 'open' | 'send';
  readonly protocol?: 'tcp' | 'udp';
  readonly host?: string;
  readonly port?: number;
  readonly conn?: string;
  readonly timeoutMs: number;
}

export interface ProbeAnswer {
  readonly id: number;
  readonly ok: boolean;
  readonly detail: string;
}

const ports = [80, 81, 82, 83];
const held = new Map<string, Socket>();

function listen(): Promise<unknown[]> {
  return Promise.all(
    ports.flatMap((port) => [
      new Promise<void>((resolve) => {
        const server = createServer((s) => {
          s.on('error', () => undefined);
          s.pipe(s);
        });
        // `::` takes IPv4 too (dual-stack socket), so one server answers both families.
        server.listen(port, '::', resolve);
      }),
      new Promise<void>((resolve) => {
        const udp = createSocket('udp6');
        udp.on('message', (msg, from) => udp.send(msg, from.port, from.address));
        udp.bind(port, '::', resolve);
      }),
    ]),
  );
}

function tcp(cmd: ProbeCommand, keep: boolean): Promise<ProbeAnswer> {
  return new Promise((resolve) => {
    const socket = connect({ host: cmd.host ?? '', port: cmd.port ?? 0 });
    const timer = setTimeout(() => done(false, 'timeout'), cmd.timeoutMs);
    const done = (ok: boolean, detail: string): void => {
      clearTimeout(timer);
      if (!keep || !ok) socket.destroy();
      resolve({ id: cmd.id, ok, detail });
    };
    socket.on('error', (err: NodeJS.ErrnoException) => done(false, err.code ?? err.message));
    socket.on('connect', () => {
      if (keep) held.set(cmd.conn ?? '', socket);
      done(true, 'connected');
    });
  });
}

function udp(cmd: ProbeCommand): Promise<ProbeAnswer> {
  return new Promise((resolve) => {
    const socket = createSocket(isIPv6(cmd.host ?? '') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => done(false, 'timeout'), cmd.timeoutMs);
    const done = (ok: boolean, detail: string): void => {
      clearTimeout(timer);
      socket.close();
      resolve({ id: cmd.id, ok, detail });
    };
    socket.on('error', (err: NodeJS.ErrnoException) => done(false, err.code ?? err.message));
    socket.on('message', () => done(true, 'answered'));
    socket.connect(cmd.port ?? 0, cmd.host ?? '', () => socket.send('hostname'));
  });
}

function send(cmd: ProbeCommand): Promise<ProbeAnswer> {
  const socket = held.get(cmd.conn ?? '');
  if (socket === undefined) return Promise.resolve({ id: cmd.id, ok: false, detail: 'no such connection' });
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(false, 'timeout'), cmd.timeoutMs);
    const onData = (): void => finish(true, 'echoed');
    const finish = (ok: boolean, detail: string): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve({ id: cmd.id, ok, detail });
    };
    socket.on('data', onData);
    socket.write('ping');
  });
}

async function answer(cmd: ProbeCommand): Promise<ProbeAnswer> {
  if (cmd.op === 'send') return send(cmd);
  if (cmd.protocol === 'udp') return udp(cmd);
  return tcp(cmd, cmd.op === 'open');
}

await listen();
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue;
  void answer(JSON.parse(line) as ProbeCommand).then((a) => process.stdout.write(`${JSON.stringify(a)}\n`));
}
process.exit(0);
