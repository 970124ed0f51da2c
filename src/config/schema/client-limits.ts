import { Type } from 'typebox';
import { Seconds } from './common.ts';

const Int = (description: string, minimum: number, maximum: number) =>
  Type.Integer({ minimum, maximum, description });

/** Bounds on what one client may hold or send; every listener applies them. */
export const ClientLimits = Type.Object(
  {
    maxHeaderBytes: Type.Optional(
      Int('request head size: HTTP/1.1 header bytes, HTTP/2 header list size (default 65536)', 1024, 1048576),
    ),
    maxHeaderCount: Type.Optional(Int('header lines per request (default 256)', 16, 10000)),
    maxRequestBodyBytes: Type.Optional(
      Int(
        'request body bytes; larger bodies get 413 RequestEntityTooLarge (default 16777216, above kube-apiserver’s own 3 MiB)',
        1024,
        1073741824,
      ),
    ),
    maxConcurrentStreams: Type.Optional(
      Int('HTTP/2 streams one connection may have open at once (default 1000)', 1, 100000),
    ),
    maxConnectionsPerClientIP: Type.Optional(
      Int(
        'connections open from one client address, all listeners and worker threads together; more are closed at once (default 10000: clients behind a load balancer that does not keep their address share its)',
        1,
        10000000,
      ),
    ),
    handshakeTimeoutSeconds: Type.Optional(
      Seconds('time a client gets to finish the TLS handshake (default 10)', 0.1, 300),
    ),
    headersTimeoutSeconds: Type.Optional(
      Seconds('HTTP/1.1: time a client gets to send a whole request head (default 30)', 0.1, 600),
    ),
    idleTimeoutSeconds: Type.Optional(
      Seconds(
        'a connection with no request in flight for this long is closed: GOAWAY on HTTP/2, keep-alive end on HTTP/1.1 (default 90)',
        0.1,
        86400,
      ),
    ),
    maxLongRunningPerUser: Type.Optional(
      Int(
        'watches, logs -f, exec, attach and port-forward one user may have open at once, over all clusters; more get 429. Default 0: no cap, since the pods of a DaemonSet on every node share one service account (exempt rules are never counted)',
        0,
        10000000,
      ),
    ),
    streamResets: Type.Optional(
      Type.Object(
        {
          burst: Int('RST_STREAM frames a connection may send at once (default 1000)', 1, 100000),
          ratePerSecond: Int(
            'then this many a second; past that the connection gets GOAWAY (default 33)',
            1,
            100000,
          ),
        },
        { additionalProperties: false, description: 'HTTP/2 rapid-reset protection (CVE-2023-44487)' },
      ),
    ),
    prematureResets: Type.Optional(
      Type.Object(
        {
          burst: Int(
            'streams a connection may reset before their answer, within 1 s of opening them (default 100)',
            1,
            100000,
          ),
          ratePerSecond: Int(
            'then this many a second; past that the connection gets GOAWAY (ENHANCE_YOUR_CALM) (default 10)',
            1,
            100000,
          ),
          penaltySeconds: Type.Optional(
            Seconds(
              'after that, new connections from the same client address are refused this long (default 10; 0: off). Behind a proxy that hides client addresses every client shares one address: set 0 there',
              0,
              3600,
            ),
          ),
        },
        {
          additionalProperties: false,
          description:
            'HTTP/2 rapid-reset protection for what nghttp2 does not count: each such stream may already be forwarded, and reset, upstream',
        },
      ),
    ),
  },
  {
    additionalProperties: false,
    description: 'per-client resource bounds (slowloris, oversized requests, connection floods, rapid reset)',
  },
);
