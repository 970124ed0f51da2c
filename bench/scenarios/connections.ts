import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../../src/dev/ports.ts';
import { connectionsOn, connectionsTo } from '../lib/connections.ts';
import { DevCluster } from '../lib/dev-cluster.ts';
import { Gateway } from '../lib/gateway.ts';
import { HAProxy } from '../lib/haproxy.ts';
import { runLoad, type LoadResult } from '../lib/h2load.ts';
import { table } from '../lib/results.ts';
import type { Scenario } from '../lib/scenario.ts';

const PATH = '/api/v1/namespaces/default/configmaps/bench';
const CLIENTS = 1000;

interface Convergence {
  proxy: string;
  clientConnections: number;
  upstreamConnections: Record<string, number>;
  load: LoadResult;
}

/** 1000 client connections (1 req/s each) through a proxy; upstream connections per apiserver, read with ss mid-run. */
async function converge(
  name: string,
  url: string,
  pid: number,
  port: number,
  apiPorts: number[],
  token: string,
  dir: string,
): Promise<Convergence> {
  const seconds = 10;
  const warmup = 3;
  const load = runLoad(
    {
      url: url + PATH,
      rate: CLIENTS,
      clients: CLIENTS,
      streams: 1,
      durationSeconds: seconds,
      warmupSeconds: warmup,
      headers: [`authorization: Bearer ${token}`],
    },
    dir,
  );
  await new Promise((r) => setTimeout(r, (warmup + seconds / 2) * 1000));
  const [clientConnections, upstreamConnections] = await Promise.all([
    connectionsOn(port),
    connectionsTo(pid, apiPorts),
  ]);
  const result = { proxy: name, clientConnections, upstreamConnections, load: await load };
  console.log(
    `  ${name}: ${clientConnections} client connections → upstream ${JSON.stringify(upstreamConnections)}; ${result.load.reqPerSec.toFixed(0)} req/s, failed ${result.load.failed}`,
  );
  return result;
}

/** Connection convergence: 1000 clients through kubegate (and HAProxy L7) → connections per apiserver. */
export const connections: Scenario = {
  name: 'connections',
  describe: `${CLIENTS} client connections at 1 req/s each → upstream connections per apiserver (kubegate, HAProxy L7)`,
  async run(ctx) {
    const dev = new DevCluster(join(ctx.dir, 'dev'));
    const gwDir = join(ctx.dir, 'gateway');
    await mkdir(gwDir, { recursive: true });
    try {
      await dev.start(3);
      const token = await dev.benchObjects();
      const apiPorts = dev.apiservers.map((u) => Number(new URL(u).port));
      const gw = new Gateway(await dev.gatewayOptions(gwDir));
      const pem = join(ctx.dir, 'gateway.pem');
      await writeFile(
        pem,
        (await readFile(dev.pki('gateway.crt'), 'utf8')) + (await readFile(dev.pki('gateway.key'), 'utf8')),
      );
      const l7 = new HAProxy({
        mode: 'l7',
        port: await freePort(),
        upstreams: dev.apiservers.map((u) => new URL(u).host),
        serverPem: pem,
        caFile: dev.pki('ca.crt'),
        threads: 2,
      });
      const out: Convergence[] = [];
      try {
        await gw.start();
        out.push(await converge('kubegate', gw.url, gw.pid, gw.opts.port, apiPorts, token, ctx.dir));
      } finally {
        await gw.stop();
      }
      try {
        await l7.start(ctx.dir);
        out.push(
          await converge(
            'haproxy-l7',
            `https://127.0.0.1:${l7.opts.port}`,
            l7.pid,
            l7.opts.port,
            apiPorts,
            token,
            ctx.dir,
          ),
        );
      } finally {
        await l7.stop();
      }
      const rows = out.map((c) => [
        c.proxy,
        c.clientConnections,
        ...apiPorts.map((p) => c.upstreamConnections[String(p)]),
        c.load.reqPerSec,
        c.load.p99,
        c.load.failed,
      ]);
      return {
        name: 'connections',
        data: { clients: CLIENTS, apiserverPorts: apiPorts, results: out },
        markdown: [
          '## connections',
          '',
          `${CLIENTS} h2load connections, 1 req/s each (GET of a ConfigMap), for 10 s; \`ss\` counts established connections half-way.`,
          '',
          table(
            [
              'proxy',
              'client conns',
              ...apiPorts.map((_, i) => `→ apiserver-${i}`),
              'req/s',
              'p99 µs',
              'failed',
            ],
            rows,
          ),
        ].join('\n'),
      };
    } finally {
      await dev.stop();
    }
  },
};
