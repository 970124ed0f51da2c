// Learned routes into the node's routing table with `ip route`, under a protocol number of our own
// so our routes are ours to find and flush. rtnetlink from Node (an addon, or a small binding of our
// own) would spare a process per change; see docs/bgp.md for that open question.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LocRibChange } from './rib/index.ts';

const run = promisify(execFile);

/** The rtnetlink protocol number kubegate's BGP routes carry (unassigned in iproute2's rt_protos). */
export const ROUTE_PROTOCOL = 196;

/** Keeps the kernel's routes of ROUTE_PROTOCOL equal to the Loc-RIB's learned best paths (ECMP too). */
export class KernelRoutes {
  readonly #protocol: number;
  readonly #log: (e: Record<string, unknown>) => void;
  #chain: Promise<void> = Promise.resolve();
  /** Routes found from a previous run, kept while we restart gracefully until swept. */
  #leftover = new Set<string>();

  constructor(o: { protocol?: number; log?: (e: Record<string, unknown>) => void } = {}) {
    this.#protocol = o.protocol ?? ROUTE_PROTOCOL;
    this.#log = o.log ?? (() => {});
  }

  /** Flushes our routes of a previous run, or with `restarting` keeps them until `sweep()`. */
  async start(restarting: boolean): Promise<void> {
    for (const family of ['-4', '-6']) {
      if (!restarting) {
        await this.#ip([family, 'route', 'flush', 'proto', String(this.#protocol)]);
        continue;
      }
      const { stdout } = await run('ip', [family, 'route', 'show', 'proto', String(this.#protocol)]);
      for (const line of stdout.split('\n')) {
        const prefix = line.split(' ')[0];
        if (prefix)
          this.#leftover.add(prefix.includes('/') ? prefix : `${prefix}/${family === '-4' ? 32 : 128}`);
      }
    }
  }

  /** Queues the change of one prefix; locally originated routes are not installed. */
  apply(change: LocRibChange): void {
    const hops = change.best?.source.kind === 'peer' ? change.ecmp.map((r) => r.nextHop) : [];
    this.#leftover.delete(change.prefix);
    const family = change.prefix.includes(':') ? '-6' : '-4';
    const proto = ['proto', String(this.#protocol)];
    const args =
      hops.length === 0
        ? [family, 'route', 'del', change.prefix, ...proto]
        : hops.length === 1
          ? [family, 'route', 'replace', change.prefix, 'via', hops[0], ...proto]
          : [
              family,
              'route',
              'replace',
              change.prefix,
              ...proto,
              ...hops.flatMap((h) => ['nexthop', 'via', h]),
            ];
    this.#chain = this.#chain.then(() => this.#ip(args, hops.length === 0));
  }

  /** Removes routes left from before a graceful restart that no peer announced again. */
  sweep(): void {
    for (const prefix of this.#leftover) {
      const family = prefix.includes(':') ? '-6' : '-4';
      this.#chain = this.#chain.then(() =>
        this.#ip([family, 'route', 'del', prefix, 'proto', String(this.#protocol)], true),
      );
    }
    this.#leftover.clear();
  }

  /** Resolves once every queued change is in the kernel. */
  idle(): Promise<void> {
    return this.#chain;
  }

  async #ip(args: string[], missingOk = false): Promise<void> {
    try {
      await run('ip', args);
    } catch (err) {
      if (!missingOk) this.#log({ type: 'kernel-route-error', args: args.join(' '), error: String(err) });
    }
  }
}
