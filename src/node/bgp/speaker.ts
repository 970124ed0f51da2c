import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { importUpdate } from './import-update.ts';
import {
  CEASE_SUBCODE,
  canonicalPrefix,
  familyOfText,
  type DecodedUpdate,
  type Family,
} from './message/index.ts';
import { Peer, STALE_PATH_SECONDS } from './peer.ts';
import {
  exportRoute,
  importLoops,
  LocRib,
  sourceKey,
  type ExportPolicy,
  type ImportPolicy,
  type LocalSpeaker,
  type Route,
  type RouteAttributes,
} from './rib/index.ts';
import { systemClock, type Clock } from './session/clock.ts';
import type { PeerConfig } from './session/config.ts';
import { plainDialer, Session, type Dialer, type SessionDown, type SessionState } from './session/session.ts';
import { connectWithKey, setListenerKey } from './tcp/md5.ts';

/** A neighbor of the speaker; the speaker supplies its own AS and router id. */
export type NeighborConfig = Omit<PeerConfig, 'localAs' | 'routerId'> & {
  readonly importPolicy?: ImportPolicy;
  readonly exportPolicy?: ExportPolicy;
};

export interface SpeakerConfig {
  readonly asn: number;
  readonly routerId: string;
  /** Route reflector cluster id (the router id by default). */
  readonly clusterId?: string;
  /** Where to accept BGP connections; none when left out. */
  readonly listen?: { readonly address: string; readonly port: number };
  readonly neighbors: readonly NeighborConfig[];
  /** IPv6 next hop(s) for IPv6 routes this speaker originates when sessions run over IPv4. */
  readonly ipv6NextHops?: readonly string[];
  readonly importPolicy?: ImportPolicy;
  readonly exportPolicy?: ExportPolicy;
  /** This speaker restarted (graceful restart R bit; forwarding state kept). */
  readonly restarting?: boolean;
  readonly clock?: Clock;
  readonly log?: (event: Record<string, unknown>) => void;
}

/** One state change or event of a neighbor, for logs and tests. */
export type SpeakerEvent =
  | { readonly type: 'state'; readonly peer: string; readonly from: SessionState; readonly to: SessionState }
  | { readonly type: 'down'; readonly peer: string; readonly down: SessionDown }
  | { readonly type: 'end-of-rib'; readonly peer: string; readonly family: Family };

/** A BGP speaker: sessions to its neighbors, their RIBs, and the routes it originates. */
export class Speaker {
  readonly config: SpeakerConfig;
  readonly locRib = new LocRib();
  readonly #peers = new Map<string, Peer>();
  readonly #neighbors = new Map<string, NeighborConfig>();
  readonly #self: LocalSpeaker;
  readonly #clock: Clock;
  readonly #pending = new Set<string>();
  readonly #listeners: ((e: SpeakerEvent) => void)[] = [];
  #server?: Server;
  #flushQueued = false;
  #started = false;
  /** Stopping to restart gracefully: learned routes stay (forwarding state is kept). */
  #gracefulStop = false;

  constructor(config: SpeakerConfig) {
    this.config = config;
    this.#clock = config.clock ?? systemClock;
    const rr = config.neighbors.some((n) => n.routeReflectorClient);
    this.#self = {
      asn: config.asn,
      routerId: config.routerId,
      clusterId: config.clusterId ?? config.routerId,
      routeReflector: rr,
    };
    for (const n of config.neighbors) this.#addPeer(n);
    this.locRib.onChange((c) => this.#queue(c.prefix));
  }

  onEvent(listener: (e: SpeakerEvent) => void): void {
    this.#listeners.push(listener);
  }

  /** Starts listening (with TCP-MD5 keys installed first) and every session. */
  async start(): Promise<void> {
    const l = this.config.listen;
    if (l) {
      const server = createServer((s) => this.#accept(s));
      server.listen(l.port, l.address);
      await once(server, 'listening');
      this.#server = server;
      for (const p of this.#peers.values()) {
        const key = p.session.config.md5Key;
        if (key) setListenerKey(server, p.address, key);
      }
    }
    this.#started = true;
    for (const p of this.#peers.values()) p.session.start();
  }

  /** Ends every session (Cease, or just TCP close when `graceful`) and stops listening. */
  async stop(options: { graceful?: boolean } = {}): Promise<void> {
    this.#gracefulStop = options.graceful === true;
    for (const p of this.#peers.values()) {
      p.session.stop(options);
      p.restartTimer.stop();
    }
    const s = this.#server;
    this.#server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  /**
   * A neighbor added while the speaker runs: its session starts (and its TCP-MD5 key goes on the
   * listener) without touching the others.
   */
  addNeighbor(n: NeighborConfig): void {
    if (this.#peers.has(n.peerAddress)) throw new Error(`neighbor ${n.peerAddress} is already configured`);
    this.#addPeer(n);
    const peer = this.#peers.get(n.peerAddress)!;
    if (this.#server && n.md5Key) setListenerKey(this.#server, n.peerAddress, n.md5Key);
    if (this.#started) peer.session.start();
  }

  /**
   * A neighbor removed while the speaker runs: its session ends with Cease "Peer De-configured"
   * (RFC 4486), the routes learned from it leave the Loc-RIB at once (no graceful-restart
   * helper time for a peer that is gone), and its TCP-MD5 key leaves the listener.
   */
  removeNeighbor(address: string): void {
    const peer = this.#peers.get(address);
    if (!peer) return;
    const key = this.#neighbors.get(address)?.md5Key;
    this.#peers.delete(address);
    this.#neighbors.delete(address);
    peer.session.stop({ ceaseSubcode: CEASE_SUBCODE.peerDeconfigured });
    peer.restartTimer.stop();
    this.#flushAll(peer);
    if (this.#server && key) setListenerKey(this.#server, address, '');
  }

  /** The listening port (after start). */
  get port(): number | undefined {
    const a = this.#server?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  /** Originates a prefix from this speaker. */
  announce(prefix: string, attributes: RouteAttributes = {}): void {
    const p = canonicalPrefix(prefix);
    this.locRib.set({
      prefix: p,
      family: familyOfText(p),
      nextHop: '',
      attributes: { origin: 'igp', asPath: [], ...attributes },
      source: { kind: 'local' },
    });
  }

  withdraw(prefix: string): void {
    this.locRib.delete(canonicalPrefix(prefix), 'local');
  }

  /** Per neighbor: session state and route counts. */
  neighbors(): {
    address: string;
    state: SessionState;
    received: number;
    advertised: number;
    failures: number;
  }[] {
    return [...this.#peers.values()].map((p) => ({
      address: p.address,
      state: p.session.state,
      received: p.ribIn.size,
      advertised: p.ribOut?.size ?? 0,
      failures: p.session.failures,
    }));
  }

  /** The routes learned from one neighbor (after import policy). */
  received(address: string): Route[] {
    return [...(this.#peers.get(address)?.ribIn.routes() ?? [])];
  }

  #emit(e: SpeakerEvent): void {
    this.config.log?.(e as unknown as Record<string, unknown>);
    for (const l of this.#listeners) l(e);
  }

  #addPeer(n: NeighborConfig): void {
    const dialer: Dialer = n.md5Key
      ? (c, signal) =>
          connectWithKey(
            { host: c.peerAddress, port: c.port, localAddress: c.localAddress, key: n.md5Key! },
            signal,
          )
      : plainDialer;
    const session = new Session(
      { ...n, localAs: this.config.asn, routerId: this.config.routerId },
      {
        stateChanged: (from, to) => this.#emit({ type: 'state', peer: n.peerAddress, from, to }),
        established: (neg) => {
          peer.established(neg, this.config.ipv6NextHops ?? []);
          for (const f of peer.familiesToFlushOnReturn(neg)) this.#flushStale(peer, f);
          if ([...peer.ribIn.routes()].some((r) => r.stale))
            peer.restartTimer.start(STALE_PATH_SECONDS * 1000);
          else peer.restartTimer.stop();
          peer.sendInitial(
            [...this.locRib.selected()].map((c) => [c.prefix, this.#exportTo(peer, c.best)] as const),
          );
        },
        update: (u) => this.#update(peer, u, n),
        routeRefresh: (family) => {
          const entries = [...this.locRib.selected()].filter((c) => c.best?.family === family);
          peer.session.send(
            peer.ribOut?.update(
              entries.map((c) => [c.prefix, this.#exportTo(peer, c.best)] as const),
              true,
            ) ?? [],
          );
        },
        down: (d) => {
          this.#emit({ type: 'down', peer: n.peerAddress, down: d });
          // A removed neighbor's routes are flushed by removeNeighbor.
          if (this.#gracefulStop || this.#peers.get(n.peerAddress) !== peer) return;
          if (peer.down(d) === 'flush') this.#flushAll(peer);
          else for (const r of peer.ribIn.markStale()) this.locRib.set(r);
        },
      },
      { clock: this.#clock, dialer, restarting: this.config.restarting },
    );
    const peer: Peer = new Peer(session, this.#clock, (p) => this.#flushStale(p));
    this.#peers.set(n.peerAddress, peer);
    this.#neighbors.set(n.peerAddress, n);
  }

  #accept(socket: Socket): void {
    const address = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const peer = this.#peers.get(address);
    if (!peer) {
      socket.destroy();
      return;
    }
    peer.session.acceptIncoming(socket);
  }

  #update(peer: Peer, u: DecodedUpdate, n: NeighborConfig): void {
    const view = peer.view!;
    const source = { kind: 'peer' as const, ...view };
    const imported = importUpdate(u, source, peer.session.negotiated?.families ?? []);
    for (const prefix of imported.withdrawn) {
      if (peer.ribIn.delete(prefix)) this.locRib.delete(prefix, sourceKey(source));
    }
    for (const route of imported.announced) {
      let r: Route | undefined = importLoops(route, view, this.#self) ? undefined : route;
      if (r && this.config.importPolicy) r = this.config.importPolicy(r, view);
      if (r && n.importPolicy) r = n.importPolicy(r, view);
      if (!r) {
        if (peer.ribIn.delete(route.prefix)) this.locRib.delete(route.prefix, sourceKey(source));
        continue;
      }
      peer.ribIn.set(r);
      this.locRib.set(r);
    }
    if (imported.endOfRib) {
      this.#emit({ type: 'end-of-rib', peer: peer.address, family: imported.endOfRib });
      this.#flushStale(peer, imported.endOfRib);
      if (![...peer.ribIn.routes()].some((r) => r.stale)) peer.restartTimer.stop();
    }
  }

  #flushStale(peer: Peer, family?: Family): void {
    for (const prefix of peer.ribIn.flushStale(family)) this.locRib.delete(prefix, peer.address);
  }

  #flushAll(peer: Peer): void {
    for (const r of [...peer.ribIn.routes()]) {
      peer.ribIn.delete(r.prefix);
      this.locRib.delete(r.prefix, peer.address);
    }
  }

  #exportTo(peer: Peer, best: Route | undefined): Route | undefined {
    const view = peer.view;
    if (!best || !view) return undefined;
    let r = exportRoute(best, view, this.#self);
    const neighbor = this.#neighbors.get(peer.address);
    if (r && this.config.exportPolicy) r = this.config.exportPolicy(r, view);
    if (r && neighbor?.exportPolicy) r = neighbor.exportPolicy(r, view);
    return r;
  }

  /** Loc-RIB changes are sent in one batch per tick, so a burst of changes packs into few UPDATEs. */
  #queue(prefix: string): void {
    this.#pending.add(prefix);
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      const prefixes = [...this.#pending];
      this.#pending.clear();
      for (const peer of this.#peers.values()) {
        if (!peer.ribOut || peer.session.state !== 'established') continue;
        const entries = prefixes.map((p) => [p, this.#exportTo(peer, this.locRib.get(p)?.best)] as const);
        peer.session.send(peer.ribOut.update(entries));
      }
    });
  }
}
