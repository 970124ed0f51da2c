import assert from 'node:assert/strict';
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminH2, devState } from '../env.ts';
import { h2request, OwnGateway } from '../own-gateway.ts';
import { FailoverClient, gatewayMemory, OpenLoopLoad, settledMemory, STEADY_PATHS } from './load.ts';

// A client opens a watch of configmaps that change 4 times a second, ~900 KiB each (~3.5 MiB/s of
// events), and never reads it. The gateway relays with back-pressure: its write to the client
// stream returns false, it pauses the upstream stream, and HTTP/2 flow control stops the apiserver
// after a window (64 KiB per stream). So the gateway buffers a few windows, not the stream: its RSS
// must not grow with the ~70–100 MiB written in 30 s, and a reading watcher and short requests
// beside it go on unaffected. What ends the stuck watch is the apiserver's business (it closes a
// watcher whose buffer stays full); the gateway keeps it open, bounded, until then or until the
// client goes.
const NS = `slow-watch-${process.pid}`;
const WRITE_MS = 30_000;
const VALUE = 'x'.repeat(900 * 1024);

let gw: OwnGateway | null = null;
let direct: ClientHttp2Session | null = null;
const sessions: ClientHttp2Session[] = [];
let client: FailoverClient | null = null;

after(async () => {
  client?.close();
  for (const s of sessions) s.destroy();
  if (direct) {
    await h2request(direct, `/api/v1/namespaces/${NS}`, { method: 'DELETE' }).catch(() => {});
    direct.close();
  }
  await gw?.stop();
});

function watch(
  s: ClientHttp2Session,
  read: boolean,
): { stream: ClientHttp2Stream; events: () => number; status: () => number } {
  const r = s.request({ ':path': `/api/v1/namespaces/${NS}/configmaps?watch=1&timeoutSeconds=300` });
  let status = 0;
  let events = 0;
  r.on('response', (h) => (status = Number(h[':status'])));
  r.on('error', () => {});
  if (read) {
    r.setEncoding('utf8');
    r.on('data', (c: string) => {
      for (const ch of c) if (ch === '\n') events++;
    });
  } else r.pause();
  return { stream: r, events: () => events, status: () => status };
}

test(
  'a watch that is not read: the gateway buffers a bounded amount, others are unaffected',
  { timeout: 180_000 },
  async () => {
    direct = adminH2(devState().apiservers[0]);
    const json = { 'content-type': 'application/json' };
    const ns = await h2request(direct, '/api/v1/namespaces', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ metadata: { name: NS } }),
    });
    assert.equal(ns.status, 201, ns.body);
    const names = ['big-0', 'big-1'];
    for (const name of names) {
      const r = await h2request(direct, `/api/v1/namespaces/${NS}/configmaps`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ metadata: { name }, data: { v: VALUE } }),
      });
      assert.equal(r.status, 201, r.body);
    }

    gw = await OwnGateway.start({}, { admin: true });
    const admin = gw.adminURL!;
    const slowSession = gw.session();
    const goodSession = gw.session();
    sessions.push(slowSession, goodSession);
    const slow = watch(slowSession, false);
    const good = watch(goodSession, true);
    client = new FailoverClient([gw.url]);
    const load = new OpenLoopLoad(client, {
      rate: 20,
      timeoutMs: 15_000,
      paths: STEADY_PATHS,
    });
    load.start();
    await sleep(3000);
    assert.equal(slow.status(), 200);
    assert.equal(good.status(), 200);
    const before = await gatewayMemory(admin);

    let writes = 0;
    let peakRss = before.rssMiB;
    let peakHeap = before.heapMiB;
    let peakExternal = before.externalMiB;
    const start = performance.now();
    const sampler = (async () => {
      while (performance.now() - start < WRITE_MS + 2000) {
        const m = await gatewayMemory(admin);
        peakRss = Math.max(peakRss, m.rssMiB);
        peakHeap = Math.max(peakHeap, m.heapMiB);
        peakExternal = Math.max(peakExternal, m.externalMiB);
        await sleep(1000);
      }
    })();
    while (performance.now() - start < WRITE_MS) {
      const name = names[writes % names.length];
      const r = await h2request(direct, `/api/v1/namespaces/${NS}/configmaps/${name}`, {
        method: 'PUT',
        headers: json,
        body: JSON.stringify({ metadata: { name }, data: { v: VALUE, n: String(writes) } }),
      });
      assert.equal(r.status, 200, r.body);
      writes++;
      await sleep(250);
    }
    await sampler;
    const faultEnd = load.now();
    await sleep(3000);
    await load.stop();
    const goodEvents = good.events();
    const slowClosed = slow.stream.closed;
    const afterMem = await settledMemory(admin);
    const written = Math.round((writes * VALUE.length) / 2 ** 20);

    const summary = load.summary('slow-watch-reader', faultEnd, {
      writes,
      writtenMiB: written,
      goodWatchEvents: goodEvents,
      slowWatchClosedByEnd: slowClosed,
      slowWatchBufferedInClientKiB: Math.round(slow.stream.readableLength / 1024),
      memoryBefore: before,
      peak: { rssMiB: peakRss, heapMiB: peakHeap, externalMiB: peakExternal },
      memoryAfter: afterMem,
    });
    console.log(JSON.stringify(summary));

    assert.ok(writes >= 60, `${writes} writes of ${VALUE.length} bytes`);
    assert.ok(goodEvents >= writes, `the reading watcher saw ${goodEvents} of ${writes} changes`);
    assert.deepEqual(summary.failed, {}, 'short requests beside the stuck watch all succeeded');
    assert.ok(summary.maxLatencyMs < 5000, `max latency ${summary.maxLatencyMs} ms`);
    // Buffered watch data would sit in Buffers (external memory), all `written` MiB of it for the
    // stuck client if unbounded. RSS also carries the relay of the reading watcher and allocator
    // pages, so its bound is looser.
    assert.ok(
      peakExternal - before.externalMiB < written / 4,
      `external ${before.externalMiB} → peak ${peakExternal} MiB (${written} MiB written)`,
    );
    assert.ok(
      peakRss - before.rssMiB < written * 0.75,
      `RSS ${before.rssMiB} → peak ${peakRss} MiB (${written} MiB written)`,
    );
    assert.ok(afterMem.heapMiB < before.heapMiB + 30, `heap ${before.heapMiB} → ${afterMem.heapMiB} MiB`);
  },
);
