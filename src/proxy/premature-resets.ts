import { constants, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';

const PREMATURE_MS = 1000;

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
 */
export function watchPrematureResets(
  s: ServerHttp2Session,
  limits: { burst: number; ratePerSecond: number },
  onExceeded: () => void,
): void {
  let tokens = limits.burst;
  let last = performance.now();
  let ended = false;
  s.on('stream', (stream: ServerHttp2Stream) => {
    const opened = performance.now();
    stream.once('close', () => {
      if (stream.headersSent || stream.rstCode === constants.NGHTTP2_NO_ERROR) return;
      const now = performance.now();
      if (now - opened > PREMATURE_MS) return;
      tokens = Math.min(limits.burst, tokens + ((now - last) / 1000) * limits.ratePerSecond);
      last = now;
      if (--tokens >= 0 || ended || s.destroyed) return;
      ended = true;
      onExceeded();
      // destroy(err, code) would send GOAWAY(NO_ERROR): send ours, then cut once it is written.
      s.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
      setImmediate(() => s.destroy());
    });
  });
}
