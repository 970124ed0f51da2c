// Two network namespaces joined by one veth for the BGP scale benchmark: the subject S (10.252.0.1)
// and the router R (10.252.0.2). Every address lives only inside them; `remove()` kills what runs
// there and deletes both, and `create()` first removes what a killed run left behind.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export const SUBJECT_IP = '10.252.0.1';
export const ROUTER_IP = '10.252.0.2';

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

export class BgpScaleLab {
  readonly subject: string;
  readonly router: string;
  readonly #children = new Set<ChildProcess>();

  constructor(prefix = 'kgbgpscale') {
    this.subject = `${prefix}-s`;
    this.router = `${prefix}-r`;
  }

  create(): void {
    this.remove();
    const ends = [
      [this.subject, SUBJECT_IP, 'kgscale0'],
      [this.router, ROUTER_IP, 'kgscale1'],
    ] as const;
    for (const [ns] of ends) {
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    ip(
      'link',
      'add',
      ends[0][2],
      'netns',
      ends[0][0],
      'type',
      'veth',
      'peer',
      'name',
      ends[1][2],
      'netns',
      ends[1][0],
    );
    for (const [ns, addr, dev] of ends) {
      ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev);
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
  }

  /** Starts `cmd` inside `ns` (`ip netns exec` execs in place, so the child's pid is the program's). */
  spawn(ns: string, cmd: string, args: readonly string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  remove(): void {
    for (const c of this.#children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    this.#children.clear();
    for (const ns of [this.subject, this.router]) {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', ns], { stdio: ['ignore', 'pipe', 'ignore'] })
          .toString()
          .split('\n')
          .filter(Boolean);
        for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
        ip('netns', 'del', ns);
      } catch {
        // not there
      }
    }
  }
}

/** The 1,000 node prefixes R holds: 10.200.0.0/24 onward. */
export function nodePrefixes(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `10.${200 + (i >> 8)}.${i & 255}.0/24`);
}

/** The service /32s S originates: 10.96.0.1 onward (the dev cluster's Service CIDR). */
export function servicePrefixes(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `10.96.${(i + 1) >> 8}.${(i + 1) & 255}/32`);
}
