// Network namespaces for the BGP interop tests: "us" (our speaker) and one or more peers (bird or
// gobgpd), each joined to "us" by its own veth pair: link i is 10.251.i.0/24 and fd00:251:i::/64,
// .1 ours and .2 the peer's. Every address lives only inside them; `remove()` deletes everything.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export const US4 = '10.251.0.1';
export const PEER4 = '10.251.0.2';
export const US6 = 'fd00:251::1';
export const PEER6 = 'fd00:251::2';

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** Runs a command inside a namespace and returns its output. */
export function inNs(ns: string, cmd: string, args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 10_000,
  }).toString();
}

/** Our and the peer's addresses on link i. */
export function link(i: number): { us4: string; peer4: string; us6: string; peer6: string } {
  // Written as the speaker prints addresses (RFC 5952), so they compare as text.
  const net6 = i === 0 ? 'fd00:251:' : `fd00:251:${i}:`;
  return { us4: `10.251.${i}.1`, peer4: `10.251.${i}.2`, us6: `${net6}:1`, peer6: `${net6}:2` };
}

export class BgpLab {
  readonly us: string;
  /** The peer namespaces; `peer` is the first. */
  readonly peers: string[];
  readonly #children: ChildProcess[] = [];

  constructor(name: string, peerCount = 1) {
    const id = `${name}-${process.pid % 100000}`;
    this.us = `kgbgp-${id}-us`;
    this.peers = Array.from({ length: peerCount }, (_, i) => `kgbgp-${id}-p${i}`);
  }

  get peer(): string {
    return this.peers[0];
  }

  create(): void {
    this.remove();
    ip('netns', 'add', this.us);
    ip('-n', this.us, 'link', 'set', 'lo', 'up');
    this.peers.forEach((p, i) => {
      const a = link(i);
      ip('netns', 'add', p);
      ip('-n', p, 'link', 'set', 'lo', 'up');
      // Our end of link 0 is kgbgp0, of link i kgbgp<i>a; the peer's end is kgbgp1 in its own namespace.
      const ours = `kgbgp${i === 0 ? 0 : `${i}a`}`;
      ip('link', 'add', ours, 'netns', this.us, 'type', 'veth', 'peer', 'name', 'kgbgp1', 'netns', p);
      this.#address(this.us, ours, a.us4, a.us6);
      this.#address(p, 'kgbgp1', a.peer4, a.peer6);
    });
  }

  #address(ns: string, dev: string, v4: string, v6: string): void {
    ip('-n', ns, 'addr', 'add', `${v4}/24`, 'dev', dev);
    ip('-n', ns, 'addr', 'add', `${v6}/64`, 'dev', dev, 'nodad');
    ip('-n', ns, 'link', 'set', dev, 'up');
  }

  /** Starts a process in a namespace; it is killed by `remove()`. */
  spawn(ns: string, cmd: string, args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#children.push(child);
    return child;
  }

  remove(): void {
    for (const c of this.#children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    for (const ns of [this.us, ...this.peers]) {
      try {
        // Processes still inside (a daemon that outlived its parent) go with the namespace.
        const pids = execFileSync('ip', ['netns', 'pids', ns], { stdio: ['ignore', 'pipe', 'ignore'] })
          .toString()
          .trim();
        for (const pid of pids.split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
        ip('netns', 'del', ns);
      } catch {
        // not there
      }
    }
  }
}

/** Our speaker as a child process in the lab's "us" namespace. */
export class SpeakerProcess {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[] = [];
  stderr = '';

  constructor(lab: BgpLab, config: unknown) {
    const entry = new URL('./bgp-speaker-process.ts', import.meta.url).pathname;
    this.child = lab.spawn(lab.us, process.execPath, [entry, JSON.stringify(config)]);
    createInterface({ input: this.child.stdout! }).on('line', (l) =>
      this.lines.push(JSON.parse(l) as Record<string, unknown>),
    );
    this.child.stderr!.on('data', (d) => (this.stderr += d));
  }

  send(cmd: unknown): void {
    this.child.stdin!.write(JSON.stringify(cmd) + '\n');
  }

  events(type?: string): Record<string, unknown>[] {
    return this.lines
      .flatMap((l) => (l.event ? [l.event as Record<string, unknown>] : []))
      .filter((e) => !type || e.type === type);
  }

  /** The last state of the session with `peer`. */
  state(peer: string): string | undefined {
    return this.events('state')
      .filter((e) => e.peer === peer)
      .at(-1)?.to as string | undefined;
  }

  /** Prefixes our Loc-RIB holds now, from the route events. */
  routes(): Map<string, string[]> {
    const m = new Map<string, string[]>();
    for (const e of this.events('route'))
      if (e.best) m.set(e.prefix as string, e.nextHops as string[]);
      else m.delete(e.prefix as string);
    return m;
  }

  async stop(graceful = false): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.send({ stop: { graceful } });
    await waitFor('speaker process exit', () => this.child.exitCode !== null, 5000);
  }
}

/** Polls until `ok()` is true (bounded). */
export async function waitFor(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
