// node bench/lib/tcp-prober.ts HOST PORT TIMEOUT_MS
// Run inside a network namespace: tries a TCP connection to HOST:PORT every 5 ms until one opens,
// then prints the wall-clock time (Date.now(), ms) of that success and exits 0; exits 1 after
// TIMEOUT_MS. Each attempt is bounded at 50 ms: until the proxy knows a new ClusterIP, its SYN may
// be dropped rather than refused, and a long bound would hide when the rules arrived.
import { connect } from 'node:net';

const [host, port, timeout] = [process.argv[2] ?? '', Number(process.argv[3]), Number(process.argv[4])];
const deadline = Date.now() + timeout;

function attempt(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 50 });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.once('timeout', () => done(false));
  });
}

process.stdout.write('probing\n');
while (Date.now() < deadline) {
  if (await attempt()) {
    process.stdout.write(`${Date.now()}\n`);
    process.exit(0);
  }
  await new Promise((r) => setTimeout(r, 5));
}
process.exit(1);
