import { encodeEndOfRib, type Family } from './message/index.ts';
import { AdjRibIn, AdjRibOut, type PeerView, type Route } from './rib/index.ts';
import { Timer, type Clock } from './session/clock.ts';
import type { Negotiated } from './session/negotiate.ts';
import type { Session, SessionDown } from './session/session.ts';

/** How long to wait for a restarted peer's End-of-RIB before flushing what it did not send again. */
export const STALE_PATH_SECONDS = 360;

/** One neighbor's state beside its session: Adj-RIB-In, Adj-RIB-Out and graceful restart timers. */
export class Peer {
  readonly session: Session;
  readonly ribIn = new AdjRibIn();
  ribOut?: AdjRibOut;
  view?: PeerView;
  /** Waits for a restarting peer to come back (its restart time), then for its End-of-RIB. */
  readonly restartTimer: Timer;
  /** Times the session has gone down gracefully with routes kept. */
  gracefulDowns = 0;

  constructor(session: Session, clock: Clock, flushStale: (peer: Peer) => void) {
    this.session = session;
    this.restartTimer = new Timer(clock, () => flushStale(this));
  }

  get address(): string {
    return this.session.config.peerAddress;
  }

  established(neg: Negotiated, ipv6NextHops: readonly string[]): void {
    const c = this.session.config;
    this.view = {
      address: c.peerAddress,
      asn: c.peerAs,
      routerId: neg.peerRouterId,
      ibgp: neg.ibgp,
      rrClient: c.routeReflectorClient,
    };
    const local = this.session.localAddress;
    const ipv4 = local && !local.includes(':') ? local : undefined;
    const ipv6 = ipv6NextHops.length ? ipv6NextHops : local?.includes(':') ? [local] : [];
    this.ribOut = new AdjRibOut(neg.families, { fourOctetAs: neg.fourOctetAs }, { ipv4, ipv6 });
  }

  /** Sends the whole table and then End-of-RIB for each negotiated family (RFC 4724 §2). */
  sendInitial(entries: Iterable<readonly [string, Route | undefined]>): void {
    const neg = this.session.negotiated;
    if (!neg || !this.ribOut) return;
    this.session.send(this.ribOut.update(entries));
    for (const f of neg.families) this.session.send([encodeEndOfRib(f, { fourOctetAs: neg.fourOctetAs })]);
  }

  down(d: SessionDown): 'stale' | 'flush' {
    this.ribOut = undefined;
    if (!d.graceful) return 'flush';
    this.gracefulDowns++;
    this.restartTimer.start(d.restartTime * 1000);
    return 'stale';
  }

  /** The families whose stale routes must go now that the peer is back (RFC 4724 §4.2). */
  familiesToFlushOnReturn(neg: Negotiated): Family[] {
    const gr = neg.peerGracefulRestart;
    const stale = new Set([...this.ribIn.routes()].filter((r) => r.stale).map((r) => r.family));
    return [...stale].filter(
      (f) =>
        !gr ||
        !gr.families.some(
          (x) => x.afi === (f === 'ipv4-unicast' ? 1 : 2) && x.safi === 1 && x.forwardingPreserved,
        ),
    );
  }
}
