import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request, type Server } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { pino } from 'pino';
import { createCA, issueCert } from '../../../../../src/dev/pki.ts';
import { createKubeletServer } from '../../../../../src/dev/podlet/server/index.ts';
import { SpdySession } from '../../../../../src/dev/podlet/spdy/index.ts';
import {
  KubeletLookupError, type AttachStreams, type ExecOptions, type ExecProcess, type ExitStatus, type KubeletBackend,
} from '../../../../../src/dev/podlet/types.ts'; // prettier-ignore

export interface Pem {
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  ca: string;
  server: Pem;
  client: Pem;
  /** A client pair from another CA. */
  rogue: Pem;
  files: { ca: string; clientCert: string; clientKey: string };
}

export async function makePki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'podlet-server-test-'));
  const ca = await createCA(dir, 'ca', 'podlet-test-ca');
  const rogueCa = await createCA(dir, 'rogue-ca', 'rogue-ca');
  const local = { dns: ['localhost'], ips: ['127.0.0.1'] };
  const server = await issueCert(dir, 'server', ca, { cn: 'podlet', usage: 'server', ...local });
  const client = await issueCert(dir, 'client', ca, { cn: 'kube-apiserver', usage: 'client' });
  const rogue = await issueCert(dir, 'rogue', rogueCa, { cn: 'intruder', usage: 'client' });
  const pem = async (f: { cert: string; key: string }) => ({
    cert: await readFile(f.cert, 'utf8'),
    key: await readFile(f.key, 'utf8'),
  });
  return {
    dir,
    ca: await readFile(ca.cert, 'utf8'),
    server: await pem(server),
    client: await pem(client),
    rogue: await pem(rogue),
    files: { ca: ca.cert, clientCert: client.cert, clientKey: client.key },
  };
}

export const removePki = (pki: TestPki) => rm(pki.dir, { recursive: true, force: true });

export const silentLog = pino({ level: process.env.PODLET_TEST_LOG ?? 'silent' });

/** A backend whose exec runs real local processes and whose port-forward dials 127.0.0.1. */
export class FakeBackend implements KubeletBackend {
  logFile = '';
  exitedContainer: Promise<void> | null = null;
  lastExec: ExecOptions | null = null;
  resizes: Array<[number, number]> = [];
  kills = 0;

  logPath(ns: string, pod: string): string | KubeletLookupError {
    if (pod === 'missing') return new KubeletLookupError(404, `pod "${ns}/${pod}" not found`);
    return this.logFile;
  }

  containerExited(): Promise<void> | null {
    return this.exitedContainer;
  }

  exec(ns: string, pod: string, _container: string, opts: ExecOptions): ExecProcess | KubeletLookupError {
    if (pod === 'missing') return new KubeletLookupError(404, `pod "${ns}/${pod}" not found`);
    this.lastExec = opts;
    const child = spawn(opts.argv[0], opts.argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise<ExitStatus>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) =>
        resolve({ code: code ?? 128 + 9, signal, finishedAt: new Date() }),
      );
    });
    return {
      stdin: opts.stdin ? child.stdin : (child.stdin.end(), null),
      stdout: child.stdout,
      stderr: opts.tty ? null : child.stderr,
      resize: (cols, rows) => this.resizes.push([cols, rows]),
      exited,
      kill: () => {
        this.kills++;
        child.kill('SIGKILL');
      },
    };
  }

  /** The "container" that attach joins: a process the test started. */
  container: ChildProcessWithoutNullStreams | null = null;
  detached = 0;

  attach(): AttachStreams | KubeletLookupError {
    const c = this.container;
    if (!c) return new KubeletLookupError(404, 'container is not running');
    return {
      stdin: c.stdin,
      stdout: c.stdout,
      stderr: c.stderr,
      resize: (cols, rows) => this.resizes.push([cols, rows]),
      detach: () => this.detached++,
    };
  }

  hasPod(_ns: string, pod: string): boolean {
    return pod !== 'missing';
  }

  portForward(ns: string, pod: string, port: number): Promise<Duplex> | KubeletLookupError {
    if (pod === 'missing') return new KubeletLookupError(404, `pod "${ns}/${pod}" not found`);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    });
  }
}

export async function startKubelet(
  pki: TestPki,
  backend: KubeletBackend,
): Promise<{ server: Server; port: number }> {
  const server = createKubeletServer({ backend, tls: { ...pki.server, ca: pki.ca }, log: silentLog });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

export interface Upgraded {
  session: SpdySession;
  protocol: string | undefined;
}

/** Upgrades `path` to SPDY/3.1 as kube-apiserver does, offering `protocols`. */
export function upgrade(
  port: number,
  pki: TestPki,
  path: string,
  protocols: string[],
  client = pki.client,
): Promise<Upgraded> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      method: 'POST',
      ca: pki.ca,
      cert: client.cert,
      key: client.key,
      servername: 'localhost',
      headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': protocols },
    });
    req.once('upgrade', (res, socket, head) => {
      const session = new SpdySession({ socket, side: 'client', head });
      resolve({ session, protocol: res.headers['x-stream-protocol-version'] as string | undefined });
    });
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => reject(new UpgradeRefused(res.statusCode ?? 0, body)));
    });
    req.once('error', reject);
    req.end();
  });
}

export class UpgradeRefused extends Error {
  override name = 'UpgradeRefused';
  readonly status: number;
  constructor(status: number, body: string) {
    super(`upgrade refused: ${status} ${body}`);
    this.status = status;
  }
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}
