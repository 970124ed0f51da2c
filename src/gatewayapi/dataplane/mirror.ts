import type { Readable } from 'node:stream';
import type { MirrorIR } from '../ir.ts';
import { UpstreamAttempt } from './attempt.ts';
import type { ClusterRegistry } from './clusters.ts';
import { copyHeaders } from './headers.ts';
import type { AttemptSink, UpstreamRequest } from './upstream-request.ts';

/** A mirror copy that has not finished by then is dropped. */
const MIRROR_TIMEOUT_MS = 30_000;

/** Mirror answers are read and thrown away; their failures are nobody's concern. */
class DiscardingSink implements AttemptSink {
  attemptResponded(_a: UpstreamAttempt, _status: number, _h: unknown, body: Readable): void {
    body.resume();
  }

  attemptTrailers(): void {}

  attemptFailed(): void {}
}

const DISCARD = new DiscardingSink();

/**
 * Sends a copy of a request (whose body is in memory, or absent) to one endpoint of each mirror's
 * cluster, sampled by the mirror's `percent`. Nothing here waits or can fail the request itself.
 */
export function sendMirrors(
  clusters: ClusterRegistry,
  mirrors: readonly MirrorIR[],
  r: UpstreamRequest,
): void {
  for (let i = 0; i < mirrors.length; i++) {
    const m = mirrors[i];
    if (m.cluster === null || (m.percent < 100 && Math.random() * 100 >= m.percent)) continue;
    const ep = clusters.get(m.cluster)?.pick() ?? null;
    if (ep === null) continue;
    const copy: UpstreamRequest = { ...r, headers: copyHeaders(r.headers) };
    new UpstreamAttempt(DISCARD, ep, MIRROR_TIMEOUT_MS).start(copy);
  }
}
