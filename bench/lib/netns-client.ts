// node bench/lib/netns-client.ts MODE …   (run inside a node's network namespace)
//
// HTTP clients of agnhost `netexec` pods behind a ClusterIP, one new connection per request, so
// every request goes through the node's Service rules (conntrack never reuses a decision):
//
//   until HOST PORT TIMEOUT_MS NAME   GET /hostname until a pod answers NAME; prints `probing`, then
//                                     the wall-clock ms (Date.now()) of that answer
//   gone HOST PORT TIMEOUT_MS NAME N  GET /hostname until NAME has answered and then N answers in a row
//                                     came from others; prints `probing`, then the ms of NAME's last answer
//   count HOST PORT N                 N requests; prints {"<hostname>": n, …, "errors": n}
//   sweep PORT TIMEOUT_MS HOST…       each HOST retried until it answers (10 at a time); prints
//                                     {"answered": n, "failed": ["host", …], "ms": n}
// Exits 1 when TIMEOUT_MS passes first.
import { request } from 'node:http';

const REQUEST_TIMEOUT_MS = 500;

function hostname(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const req = request(
      { host, port, path: '/hostname', agent: false, timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(res.statusCode === 200 ? body.trim() : null));
        res.on('error', () => resolve(null));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end();
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(host: string, port: number, deadline: number, name: string): Promise<number> {
  process.stdout.write('probing\n');
  while (Date.now() < deadline) {
    if ((await hostname(host, port)) === name) return Date.now();
    await pause(2);
  }
  return -1;
}

async function gone(host: string, port: number, deadline: number, name: string, n: number): Promise<number> {
  process.stdout.write('probing\n');
  let last = -1;
  let others = 0;
  while (Date.now() < deadline) {
    const h = await hostname(host, port);
    if (h === name) {
      last = Date.now();
      others = 0;
    } else if (h !== null && last >= 0 && ++others >= n) return last;
    await pause(2);
  }
  return -1;
}

async function count(host: string, port: number, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = { errors: 0 };
  for (let i = 0; i < n; i++) {
    const h = (await hostname(host, port)) ?? 'errors';
    counts[h] = (counts[h] ?? 0) + 1;
  }
  return counts;
}

async function sweep(port: number, deadline: number, hosts: string[]): Promise<Record<string, unknown>> {
  const started = Date.now();
  const failed: string[] = [];
  let answered = 0;
  let next = 0;
  const worker = async () => {
    while (next < hosts.length) {
      const host = hosts[next++]!;
      let ok = false;
      while (!ok && Date.now() < deadline) {
        ok = (await hostname(host, port)) !== null;
        if (!ok) await pause(20);
      }
      if (ok) answered++;
      else failed.push(host);
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  return { answered, failed, ms: Date.now() - started };
}

const [mode, ...a] = process.argv.slice(2);
const arg = (i: number) => a[i] ?? '';
switch (mode) {
  case 'until':
  case 'gone': {
    const deadline = Date.now() + Number(arg(2));
    const at =
      mode === 'until'
        ? await until(arg(0), Number(arg(1)), deadline, arg(3))
        : await gone(arg(0), Number(arg(1)), deadline, arg(3), Number(arg(4)));
    if (at < 0) process.exit(1);
    process.stdout.write(`${at}\n`);
    break;
  }
  case 'count':
    process.stdout.write(`${JSON.stringify(await count(arg(0), Number(arg(1)), Number(arg(2))))}\n`);
    break;
  case 'sweep':
    process.stdout.write(
      `${JSON.stringify(await sweep(Number(arg(0)), Date.now() + Number(arg(1)), a.slice(2)))}\n`,
    );
    break;
  default:
    process.stderr.write(`netns-client: unknown mode ${mode}\n`);
    process.exit(2);
}
