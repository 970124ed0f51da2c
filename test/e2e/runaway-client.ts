// A runaway client, run as a child process so its load never shares the measuring test's event loop:
// `node runaway-client.ts URL CA_FILE PATH LOOPS` with the bearer token in RUNAWAY_TOKEN. LOOPS
// concurrent loops over one HTTP/2 session GET PATH, again at once after a 200 and after 50 ms
// otherwise (Retry-After ignored: it is a runaway). Commands on stdin, one a line: `on` starts the
// loops (answers `{"on":true}` once the first answer came back), `off` stops them and answers, once
// its connection (and so every request in flight) is closed, with the statuses counted since `on` (0: cancelled) and the
// mean time of a 200; `exit` leaves.
import { readFileSync } from 'node:fs';
import { connect } from 'node:http2';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

const [url, caFile, path, loopsArg] = process.argv.slice(2);
const loops = Number(loopsArg);
const ca = readFileSync(caFile);
let session = connect(url, { ca });
const headers = {
  ':path': path,
  authorization: `Bearer ${process.env.RUNAWAY_TOKEN}`,
  // As client-go asks: the apiserver then serializes and compresses each list, and the gateway
  // relays a few compressed chunks, so a list costs what it costs in a real cluster, mostly upstream.
  'accept-encoding': 'gzip',
};
let running = false;
let counts: Record<string, number> = {};
let okMs = 0;
let answered: (() => void) | null = null;

function get(): Promise<number> {
  return new Promise((resolve) => {
    const r = session.request(headers);
    let status = 0;
    r.once('response', (h) => (status = Number(h[':status'])));
    r.resume(); // read and drop the body
    r.on('error', () => {});
    r.once('close', () => resolve(status));
  });
}

async function loop(): Promise<void> {
  while (running) {
    const t0 = performance.now();
    const status = await get();
    counts[status] = (counts[status] ?? 0) + 1;
    if (status === 200) okMs += performance.now() - t0;
    answered?.();
    if (status !== 200) await sleep(50);
  }
}

let workers: Promise<void>[] = [];
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'on' && !running) {
    running = true;
    counts = {};
    okMs = 0;
    const first = new Promise<void>((resolve) => (answered = resolve));
    workers = Array.from({ length: loops }, loop);
    await first;
    answered = null;
    process.stdout.write(`${JSON.stringify({ on: true })}\n`);
  } else if (line === 'off') {
    running = false;
    // Requests still waiting in the gateway (a queue, a rate wait) are not waited for: the
    // connection goes, as when such a process is stopped (a reset of each stream would be a burst
    // of premature resets, which the gateway counts against rapid reset), and the next `on` opens
    // another.
    session.destroy();
    await Promise.all(workers);
    session = connect(url, { ca });
    const meanOkMs = counts[200] ? Math.round(okMs / counts[200]) : null;
    process.stdout.write(`${JSON.stringify({ off: true, counts, meanOkMs })}\n`);
  } else if (line === 'exit') {
    break;
  }
}
running = false;
session.close();
