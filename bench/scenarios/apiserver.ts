import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DevCluster } from '../lib/dev-cluster.ts';
import type { Scenario } from '../lib/scenario.ts';
import { sideBySide } from '../lib/side-by-side.ts';

const PATH = '/api/v1/namespaces/default/configmaps/bench';

/** The same side-by-side comparison in front of 3 real kube-apiservers (GET of one ConfigMap). */
export const apiserver: Scenario = {
  name: 'apiserver',
  describe:
    '3 real kube-apiservers, GET of one ConfigMap: direct (apiserver 0), kubegate, HAProxy L7, HAProxy L4',
  async run(ctx) {
    const dev = new DevCluster(join(ctx.dir, 'dev'));
    try {
      await dev.start(3);
      const token = await dev.benchObjects();
      const serverPem = join(ctx.dir, 'gateway.pem');
      await writeFile(
        serverPem,
        (await readFile(dev.pki('gateway.crt'), 'utf8')) + (await readFile(dev.pki('gateway.key'), 'utf8')),
      );
      const r = await sideBySide(
        {
          upstreams: dev.apiservers,
          tls: {
            certFile: dev.pki('gateway.crt'),
            keyFile: dev.pki('gateway.key'),
            clientCAFile: dev.pki('ca.crt'),
          },
          serverPem,
          caFile: dev.pki('ca.crt'),
          credentials: {
            certFile: dev.pki('gateway-upstream.crt'),
            keyFile: dev.pki('gateway-upstream.key'),
          },
          dir: ctx.dir,
        },
        {
          rates: [500, 2000, 5000, 'max'],
          reps: ctx.reps,
          durationSeconds: ctx.durationSeconds,
          warmupSeconds: ctx.warmupSeconds,
          headers: [`authorization: Bearer ${token}`],
          path: PATH,
        },
      );
      return {
        name: 'apiserver',
        data: {
          upstream: '3 kube-apiservers from kubegate dev (one etcd); direct = apiserver 0 only',
          auth: 'service-account bearer token; kubegate reviews it once (TokenReview) and impersonates',
          cells: r.cells,
          kubegateVsDirect: r.kubegateVsDirect,
          kubegateVsHAProxyL7: r.kubegateVsHAProxyL7,
          runs: r.runs,
        },
        markdown: ['## apiserver', '', r.markdown].join('\n'),
      };
    } finally {
      await dev.stop();
    }
  },
};
