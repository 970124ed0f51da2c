import type { KubeClient } from '../../src/kube/client.ts';
import { CONTROLLER_NAME } from '../../src/gatewayapi/controller/controller.ts';

const ROUTES = '/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes';

/** The name and host name of bulk route `i` (`r-00042`, `r-00042.bench.example`). */
export function bulkRoute(i: number): { name: string; host: string } {
  const name = `r-${String(i).padStart(5, '0')}`;
  return { name, host: `${name}.bench.example` };
}

/** An HTTPRoute on Gateway `example` for one host name, sending `path` (prefix) to Service echo. */
export function httpRoute(name: string, host: string, path = '/'): Record<string, unknown> {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: 'default', labels: { bench: 'gatewayapi' } },
    spec: {
      parentRefs: [{ name: 'example' }],
      hostnames: [host],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: path } }],
          backendRefs: [{ name: 'echo', port: 8080 }],
        },
      ],
    },
  };
}

/** Creates bulk routes `from` … `to - 1` with `concurrency` POSTs in flight; resolves when all are created. */
export async function createBulkRoutes(
  api: KubeClient,
  from: number,
  to: number,
  concurrency = 16,
): Promise<void> {
  let next = from;
  const worker = async (): Promise<void> => {
    while (next < to) {
      const { name, host } = bulkRoute(next++);
      await api.json('POST', ROUTES, httpRoute(name, host));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** POSTs one route; returns the CLOCK_MONOTONIC times (ns) it was sent and the API's answer arrived. */
export async function createRoute(
  api: KubeClient,
  name: string,
  host: string,
): Promise<{ sent: bigint; answered: bigint }> {
  const sent = process.hrtime.bigint();
  await api.json('POST', ROUTES, httpRoute(name, host));
  return { sent, answered: process.hrtime.bigint() };
}

/**
 * Changes bulk route `i`'s only rule to match path prefix `/v<version>` and header
 * `x-bench: <version>` (a merge patch replaces the whole `rules` list).
 */
export async function changeRoute(api: KubeClient, i: number, version: number): Promise<void> {
  const { name } = bulkRoute(i);
  await api.json('PATCH', `${ROUTES}/${name}`, {
    spec: {
      rules: [
        {
          matches: [
            {
              path: { type: 'PathPrefix', value: `/v${version}` },
              headers: [{ name: 'x-bench', value: String(version) }],
            },
          ],
          backendRefs: [{ name: 'echo', port: 8080 }],
        },
      ],
    },
  });
}

interface RouteList {
  items: {
    metadata: { generation?: number };
    status?: {
      parents?: {
        controllerName?: string;
        conditions?: { type: string; status: string; observedGeneration?: number }[];
      }[];
    };
  }[];
}

/** How many routes labelled `bench=gatewayapi` exist, and how many kubegate reports Accepted for their generation. */
export async function acceptedRoutes(api: KubeClient): Promise<{ total: number; accepted: number }> {
  const list = await api.json<RouteList>('GET', `${ROUTES}?labelSelector=bench%3Dgatewayapi`);
  let accepted = 0;
  for (const r of list.items) {
    const ours = r.status?.parents?.find((p) => p.controllerName === CONTROLLER_NAME);
    const c = ours?.conditions?.find((x) => x.type === 'Accepted');
    if (c?.status === 'True' && c.observedGeneration === r.metadata.generation) accepted++;
  }
  return { total: list.items.length, accepted };
}

/** Polls until every bench route has kubegate's Accepted status for its generation (the controller is idle again). */
export async function waitAllAccepted(api: KubeClient, want: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { total, accepted } = await acceptedRoutes(api);
    if (total >= want && accepted === total) return;
    if (Date.now() > deadline)
      throw new Error(
        `${accepted} of ${total} bench routes Accepted after ${timeoutMs / 1000} s (want ${want})`,
      );
    await new Promise((r) => setTimeout(r, 1000));
  }
}
