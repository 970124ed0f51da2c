import { constants, type Http2Session, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';

const PREMATURE_MS = 1000;
const OPENED = Symbol('kubegate.openedAt');
/** Sessions past their budget: the frames already read may still open streams, refused at once. */
const calmed = new WeakSet<Http2Session>();

/**
 * True for a stream of a session closed for rapid reset. nghttp2 goes on parsing the rest of what
 * it has read (a 64 KiB read holds hundreds of HEADERS+RST_STREAM pairs) until the GOAWAY is
 * written, and each HEADERS still opens a stream: such a stream is refused without being
 * authenticated, admitted or forwarded.
 */
export function refusedForResets(stream: ServerHttp2Stream): boolean {
  const s = stream.session;
  return s !== undefined && calmed.has(s);
}

/**
 * Closes an HTTP/2 session whose client keeps resetting streams before their answer (rapid reset,
 * CVE-2023-44487). nghttp2's own limit (`streamResetBurst`/`streamResetRate`) did not fire in our
 * load tests for HEADERS followed by RST_STREAM from Node's client, and each such stream that
 * got past admission in the meantime was forwarded (and reset) upstream: a third of them in one
 * run, on the HTTP/2 session other clients share; an upstream with its own reset limit (Node's)
 * then ended that shared session, failing other clients' requests. So premature resets, a stream closed by the
 * client with an error code before the gateway answered, are counted here in a token bucket of
 * `burst` refilled at `ratePerSecond` (`clientLimits.prematureResets`); an empty bucket ends the session with GOAWAY
 * (ENHANCE_YOUR_CALM). Resets after the answer began (a watch the client stops), or of a stream
 * older than a second (a client's own timeout on a slow apiserver), do not count, as in Envoy.
 * `onExceeded` lets the listener refuse the address's next connections for a while
 * (`penaltySeconds`): an attacker that reconnects would otherwise get a fresh budget each time.
 */
export function watchPrematureResets(
  s: ServerHttp2Session,
  limits: { readonly burst: number; readonly ratePerSecond: number },
  onExceeded: () => void,
): void {
  let tokens = limits.burst;
  let last = performance.now();
  let ended = false;
  // One listener for all the session's streams, the opening time on the stream: a closure per
  // stream (and `once`'s wrapper) is held for as long as a watch stays open.
  function closed(this: ServerHttp2Stream): void {
    const stream = this as ServerHttp2Stream & { [OPENED]?: number };
    if (stream.headersSent || stream.rstCode === constants.NGHTTP2_NO_ERROR) return;
    const now = performance.now();
    if (now - (stream[OPENED] ?? 0) > PREMATURE_MS) return;
    tokens = Math.min(limits.burst, tokens + ((now - last) / 1000) * limits.ratePerSecond);
    last = now;
    if (--tokens >= 0 || ended || s.destroyed) return;
    ended = true;
    calmed.add(s);
    onExceeded();
    // Node's numeric form (untyped): the last GOAWAY carries this code, where destroy(undefined,
    // code) would send NO_ERROR. Its session error goes to the server's 'sessionError'.
    (s.destroy as unknown as (code: number) => void).call(s, constants.NGHTTP2_ENHANCE_YOUR_CALM);
  }
  s.on('stream', (stream: ServerHttp2Stream & { [OPENED]?: number }) => {
    stream[OPENED] = performance.now();
    stream.on('close', closed); // emitted once
  });
}
