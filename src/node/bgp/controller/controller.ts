import { KernelRoutes } from '../kernel-routes.ts';
import { rejectPrefixesWithin, Speaker, type SpeakerEvent } from '../index.ts';
import { routingIntent, sessionKey, type RoutingIntent, type RoutingNode } from './intent.ts';
import type { RoutingOptions } from './options.ts';

export interface RoutingControllerOptions {
  readonly nodeName: string;
  readonly options: RoutingOptions;
  readonly log: (event: Record<string, unknown>) => void;
}

/**
 * Drives this node's Speaker from the Node objects: builds it from the intent, announces and
 * withdraws the pod CIDRs, and keeps learned routes in the kernel (`proto 196`, ECMP). A change of
 * neighbors rebuilds the speaker as a graceful restart: the old one stops without a NOTIFICATION
 * (peers keep our routes, the kernel keeps theirs), the new one sends the R bit and sweeps the
 * routes no peer announced again once all sent End-of-RIB, or after the restart time.
 */
export class RoutingController {
  readonly #o: RoutingControllerOptions;
  #speaker: Speaker | undefined;
  #kernel: KernelRoutes | undefined;
  #key = '';
  #announced = new Set<string>();
  #chain: Promise<void> = Promise.resolve();
  #latest: readonly RoutingNode[] = [];
  #queued = false;
  #sweepTimer: NodeJS.Timeout | undefined;
  #lastWaiting = '';
  #lastProblems = '[]';
  #stopped = false;

  constructor(o: RoutingControllerOptions) {
    this.#o = o;
  }

  /** The running speaker (tests and metrics). */
  get speaker(): Speaker | undefined {
    return this.#speaker;
  }

  /**
   * Takes the current Node list. Applies never overlap, and lists that arrive while one runs are
   * one apply of the latest.
   */
  update(nodes: readonly RoutingNode[]): Promise<void> {
    this.#latest = nodes;
    if (this.#queued) return this.#chain;
    this.#queued = true;
    this.#chain = this.#chain
      .then(() => {
        this.#queued = false;
        return this.#apply(this.#latest);
      })
      .catch((err: unknown) =>
        this.#o.log({ type: 'routing-error', error: err instanceof Error ? err.message : String(err) }),
      );
    return this.#chain;
  }

  async #apply(nodes: readonly RoutingNode[]): Promise<void> {
    if (this.#stopped) return;
    const r = routingIntent(nodes, this.#o.nodeName, this.#o.options);
    // Node heartbeats bring the same list again and again: a problem is logged when it appears.
    const problems = JSON.stringify(r.problems);
    if (problems !== this.#lastProblems)
      for (const p of r.problems) this.#o.log({ type: 'routing-problem', problem: p });
    this.#lastProblems = problems;
    if (!r.intent) {
      if (r.waiting !== this.#lastWaiting) this.#o.log({ type: 'routing-waiting', reason: r.waiting });
      this.#lastWaiting = r.waiting ?? '';
      return;
    }
    const key = sessionKey(r.intent);
    if (key !== this.#key) {
      await this.#rebuild(r.intent);
      this.#key = key;
    }
    this.#announce(r.intent.announce);
  }

  async #rebuild(intent: RoutingIntent): Promise<void> {
    const restarting = this.#speaker !== undefined;
    if (this.#speaker) {
      await this.#speaker.stop({ graceful: true });
      await this.#kernel?.idle();
    }
    clearTimeout(this.#sweepTimer);
    const log = this.#o.log;
    const gr = this.#o.options.gracefulRestartSeconds;
    const kernel = new KernelRoutes({ log });
    await kernel.start(restarting);
    const speaker = new Speaker({
      asn: intent.asn,
      routerId: intent.routerId,
      listen: { address: intent.nodeIP, port: this.#o.options.port },
      ...(intent.nodeIPv6 ? { ipv6NextHops: [intent.nodeIPv6] } : {}),
      neighbors: intent.neighbors.map((n) => ({
        peerAddress: n.peerAddress,
        peerAs: n.peerAs,
        port: this.#o.options.port,
        localAddress: intent.nodeIP,
        ...(n.md5Key ? { md5Key: n.md5Key } : {}),
        families: intent.families,
        ...(gr > 0 ? { gracefulRestart: { restartTime: gr } } : {}),
      })),
      importPolicy: rejectPrefixesWithin(intent.rejectImport),
      restarting,
      log,
    });
    speaker.locRib.onChange((c) => kernel.apply(c));
    if (restarting) this.#sweepWhenResynced(speaker, kernel, intent, gr);
    this.#speaker = speaker;
    this.#kernel = kernel;
    this.#announced = new Set();
    log({
      type: 'routing-speaker',
      asn: intent.asn,
      routerId: intent.routerId,
      neighbors: intent.neighbors.map((n) => n.peerAddress),
      restarting,
    });
    await speaker.start();
  }

  #sweepWhenResynced(speaker: Speaker, kernel: KernelRoutes, intent: RoutingIntent, gr: number): void {
    const waiting = new Set(
      intent.neighbors.flatMap((n) => intent.families.map((f) => `${n.peerAddress} ${f}`)),
    );
    const sweep = (): void => {
      clearTimeout(this.#sweepTimer);
      if (this.#kernel === kernel) kernel.sweep();
    };
    speaker.onEvent((e: SpeakerEvent) => {
      if (e.type !== 'end-of-rib' || !waiting.delete(`${e.peer} ${e.family}`)) return;
      if (waiting.size === 0) sweep();
    });
    if (waiting.size === 0) sweep();
    else this.#sweepTimer = setTimeout(sweep, Math.max(gr, 1) * 1000).unref();
  }

  #announce(prefixes: readonly string[]): void {
    const speaker = this.#speaker;
    if (!speaker) return;
    const want = new Set(prefixes);
    for (const p of this.#announced) if (!want.has(p)) speaker.withdraw(p);
    for (const p of want) if (!this.#announced.has(p)) speaker.announce(p);
    this.#announced = want;
  }

  /** Resolves once every queued kernel route change is applied. */
  async idle(): Promise<void> {
    await this.#chain;
    await this.#kernel?.idle();
  }

  /**
   * Stops the speaker. `graceful` (the default) sends no NOTIFICATION and leaves the learned routes
   * in the kernel, so traffic keeps flowing while the agent restarts; otherwise peers drop our
   * routes at once and ours are flushed.
   */
  async stop(options: { graceful?: boolean } = {}): Promise<void> {
    const graceful = options.graceful ?? true;
    await this.#chain;
    this.#stopped = true;
    clearTimeout(this.#sweepTimer);
    await this.#speaker?.stop({ graceful });
    await this.#kernel?.idle();
    if (!graceful) await cleanupBgpRoutes();
  }
}

/** Deletes every route kubegate's BGP speaker installed in this network namespace (`proto 196`). */
export async function cleanupBgpRoutes(): Promise<void> {
  await new KernelRoutes().start(false);
}
