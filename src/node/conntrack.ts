import { execFile } from 'node:child_process';
import type { Logger } from 'pino';
import type { UDPDestination } from './service/index.ts';

/**
 * UDP has no connection to end: a flow keeps going to a removed endpoint until its conntrack entry
 * goes. After each sync, the entries of every (service address, endpoint) pair that is no longer
 * programmed are deleted (`conntrack -D`, from conntrack-tools).
 */
export class UDPConntrackCleaner {
  readonly #log: Logger;
  readonly #cmd: readonly string[];
  #last = new Map<string, Set<string>>();

  /** `cmd`: the argv prefix (default `['conntrack']`; tests run it in a namespace of theirs). */
  constructor(log: Logger, cmd: readonly string[] = ['conntrack']) {
    this.#log = log;
    this.#cmd = cmd;
  }

  /** The pairs that went away since the last call; deletes their entries. */
  async update(now: readonly UDPDestination[]): Promise<{ ip: string; port: number; endpoint: string }[]> {
    const next = new Map<string, Set<string>>();
    for (const d of now) next.set(`${d.ip}|${d.port}`, new Set(d.endpoints));
    const gone: { ip: string; port: number; endpoint: string }[] = [];
    for (const [k, eps] of this.#last) {
      const still = next.get(k);
      const [ip, port] = k.split('|') as [string, string];
      for (const e of eps) if (!still?.has(e)) gone.push({ ip, port: Number(port), endpoint: e });
    }
    this.#last = next;
    await Promise.all(gone.map((g) => this.#delete(g.ip, g.port, g.endpoint)));
    return gone;
  }

  #delete(ip: string, port: number, endpoint: string): Promise<void> {
    const family = ip.includes(':') ? 'ipv6' : 'ipv4';
    const args = [
      '-D',
      '-f',
      family,
      '-p',
      'udp',
      '--orig-dst',
      ip,
      '--orig-port-dst',
      String(port),
      '--dst-nat',
      endpoint,
    ];
    return new Promise((resolve) => {
      execFile(
        this.#cmd[0]!,
        [...this.#cmd.slice(1), ...args],
        { timeout: 10_000 },
        (err, _stdout, stderr) => {
          // Exit 1 with "0 flow entries have been deleted" is the common case: nothing to delete.
          if (err && !/0 flow entries/.test(stderr))
            this.#log.warn(
              { kind: 'conntrack', args, err: stderr.trim() || err.message },
              'conntrack -D failed',
            );
          resolve();
        },
      );
    });
  }
}
