import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { GatewayAPILab } from './gatewayapi-lab.ts';
import { h1Load, type H1Result } from './gatewayapi-load.ts';
import type { Prober } from './gatewayapi-probes.ts';
import { stopChild } from './haproxy.ts';
import type { ScenarioContext } from './scenario.ts';
import { median, round } from './stats.ts';

/** The tiny ext-auth server's address in the Gateway host (a pool address: local there, never a Gateway's). */
const EXT_AUTH_ADDRESS = '10.250.2.249';
const EXT_AUTH_PORT = 9000;
const ISSUER = 'https://bench.kubegate.invalid';
const NS = 'default';
const VARIANTS = ['none', 'jwt', 'localRateLimit', 'extAuth'] as const;
type Variant = (typeof VARIANTS)[number];

// Answers 200 to every question, with the header the policy copies onto the request.
const EXT_AUTH_SERVER = `require('node:http').createServer((q, s) => { s.writeHead(200, { 'x-user': 'bench' }); s.end(); }).listen(${EXT_AUTH_PORT}, '${EXT_AUTH_ADDRESS}');`;

/** Medians over the repetitions of one variant. */
export interface PolicyCostMedians {
  cpuMicrosPerRequest: number | null;
  p50Micros: number | null;
  p99Micros: number | null;
  reqPerSec: number | null;
  non2xxOrErrors: number;
  /** Each run's CPU µs per request. */
  runs: number[];
}

export interface PolicyCostResult {
  rate: number;
  clients: number;
  reps: number;
  byVariant: Record<Variant, PolicyCostMedians>;
  /** Each variant's median CPU per request minus the no-policy one (µs). */
  overNone: Record<Variant, number | null>;
}

const host = (v: Variant) => `${v.toLowerCase()}.policies.bench.example`;

/**
 * The Gateway process's CPU per request for one route per policy (none, `jwt` RS256,
 * `localRateLimit` with a bucket that never runs dry, `extAuth` to a tiny server in the Gateway
 * host that answers 200), at one fixed rate; the variant order rotates every repetition.
 */
export async function policyCost(
  lab: GatewayAPILab,
  prober: Prober,
  ctx: ScenarioContext,
  opts: { rate: number; clients: number; reps: number },
): Promise<PolicyCostResult> {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...keys.publicKey.export({ format: 'jwk' }), kid: 'bench', alg: 'RS256', use: 'sig' };
  const token = signed(keys.privateKey, {
    iss: ISSUER,
    sub: 'bench',
    exp: Math.floor(Date.now() / 1000) + 86_400,
  });
  const auth = await startExtAuth(lab.gatewayHost);
  const created: string[] = [];
  try {
    for (const [path, obj] of objects(JSON.stringify({ keys: [jwk] }))) {
      await lab.api.json('POST', path, obj);
      created.push(`${path}/${(obj.metadata as { name: string }).name}`);
    }
    const headers = (v: Variant) => (v === 'jwt' ? [`authorization: Bearer ${token}`] : []);
    for (const v of VARIANTS)
      await prober.probe(lab.gatewayAddress, host(v), {
        intervalMs: 100,
        timeoutMs: 60_000,
        headers: v === 'jwt' ? { authorization: `Bearer ${token}` } : {},
      }).served;
    const load = (v: Variant, durationSeconds: number, warmupSeconds: number) =>
      h1Load(
        lab.outside,
        {
          url: `http://${lab.gatewayAddress}/`,
          host: host(v),
          rate: opts.rate,
          clients: opts.clients,
          durationSeconds,
          warmupSeconds,
          headers: headers(v),
        },
        lab.gatewayAPIPid,
        ctx.dir,
      );
    for (const v of VARIANTS) await load(v, 2, 0);
    const runs = new Map<Variant, H1Result[]>(VARIANTS.map((v) => [v, []]));
    for (let rep = 0; rep < opts.reps; rep++)
      for (let i = 0; i < VARIANTS.length; i++) {
        const v = VARIANTS[(i + rep) % VARIANTS.length]!;
        const r = await load(v, ctx.durationSeconds, ctx.warmupSeconds);
        runs.get(v)!.push(r);
        console.log(
          `bench gatewayapi: policy ${v} rep ${rep + 1}: ${Math.round(r.reqPerSec)} req/s, ${Math.round(r.cpuMicrosPerRequest)} µs CPU/req, p50 ${r.p50} µs, non-2xx ${r.non2xx}`,
        );
      }
    const byVariant = {} as Record<Variant, PolicyCostMedians>;
    for (const [v, rs] of runs)
      byVariant[v] = {
        cpuMicrosPerRequest: round(median(rs.map((r) => r.cpuMicrosPerRequest)), 0),
        p50Micros: round(median(rs.map((r) => r.p50)), 0),
        p99Micros: round(median(rs.map((r) => r.p99)), 0),
        reqPerSec: round(median(rs.map((r) => r.reqPerSec)), 0),
        non2xxOrErrors: rs.reduce((n, r) => n + r.non2xx + r.errored + r.timedOut, 0),
        runs: rs.map((r) => round(r.cpuMicrosPerRequest, 0) ?? 0),
      };
    const none = byVariant.none.cpuMicrosPerRequest;
    const overNone = {} as Record<Variant, number | null>;
    for (const v of VARIANTS) {
      const c = byVariant[v].cpuMicrosPerRequest;
      overNone[v] = c === null || none === null ? null : c - none;
    }
    return { rate: opts.rate, clients: opts.clients, reps: opts.reps, byVariant, overNone };
  } finally {
    for (const p of created.reverse()) await lab.api.json('DELETE', p).catch(() => undefined);
    await stopChild(auth, 3000);
  }
}

function signed(key: Parameters<typeof sign>[2], claims: Record<string, unknown>): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const head = `${b64({ alg: 'RS256', typ: 'JWT', kid: 'bench' })}.${b64(claims)}`;
  return `${head}.${sign('sha256', Buffer.from(head), key).toString('base64url')}`;
}

/** The tiny ext-auth server, run by node in the Gateway host's namespace. */
async function startExtAuth(netnsExec: [string, string[]]): Promise<ChildProcess> {
  const [cmd, prefix] = netnsExec;
  const c = spawn(cmd, [...prefix, process.execPath, '-e', EXT_AUTH_SERVER], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    c.once('spawn', resolve);
    c.once('error', reject);
  });
  // `ip netns exec` execs node, which names its main thread: anything but `ip` means it started.
  for (let i = 0; i < 50; i++) {
    const comm = await readFile(`/proc/${c.pid}/comm`, 'utf8').catch(() => 'ip');
    if (comm.trim() !== 'ip' && c.exitCode === null) return c;
    if (c.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await stopChild(c, 3000);
  throw new Error(`the ext-auth server did not start in the Gateway host namespace (exit ${c.exitCode})`);
}

/** [collection path, object]: the routes, the JWKS Secret, the ext-auth Service and its endpoints, the policies. */
function objects(jwks: string): [string, Record<string, unknown>][] {
  const gw = `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes`;
  const tp = `/apis/gateway.kubegate.io/v1alpha1/namespaces/${NS}/trafficpolicies`;
  const meta = (name: string, extra: Record<string, unknown> = {}) => ({ name, namespace: NS, ...extra });
  const routes: [string, Record<string, unknown>][] = VARIANTS.map((v) => [
    gw,
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: meta(`policy-${v.toLowerCase()}`),
      spec: {
        parentRefs: [{ name: 'example' }],
        hostnames: [host(v)],
        rules: [{ backendRefs: [{ name: 'echo', port: 8080 }] }],
      },
    },
  ]);
  const policy = (v: Variant, spec: Record<string, unknown>): [string, Record<string, unknown>] => [
    tp,
    {
      apiVersion: 'gateway.kubegate.io/v1alpha1',
      kind: 'TrafficPolicy',
      metadata: meta(`bench-${v.toLowerCase()}`),
      spec: {
        targetRefs: [
          { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: `policy-${v.toLowerCase()}` },
        ],
        ...spec,
      },
    },
  ];
  return [
    ...routes,
    [
      `/api/v1/namespaces/${NS}/secrets`,
      {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: meta('bench-jwks'),
        data: { jwks: Buffer.from(jwks).toString('base64') },
      },
    ],
    [
      `/api/v1/namespaces/${NS}/services`,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta('bench-ext-authz'),
        spec: { ports: [{ name: 'http', port: EXT_AUTH_PORT }] },
      },
    ],
    [
      `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`,
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: meta('bench-ext-authz-1', { labels: { 'kubernetes.io/service-name': 'bench-ext-authz' } }),
        addressType: 'IPv4',
        ports: [{ name: 'http', port: EXT_AUTH_PORT, protocol: 'TCP' }],
        endpoints: [{ addresses: [EXT_AUTH_ADDRESS], conditions: { ready: true } }],
      },
    ],
    policy('jwt', { jwt: { providers: [{ issuer: ISSUER, jwks: { secretRef: { name: 'bench-jwks' } } }] } }),
    // A bucket no fixed-rate run empties: nothing is refused, only the bookkeeping is measured.
    policy('localRateLimit', { localRateLimit: { tokens: 1_000_000, fillInterval: '1s' } }),
    policy('extAuth', {
      extAuth: { backendRef: { name: 'bench-ext-authz', port: EXT_AUTH_PORT }, headersToBackend: ['x-user'] },
    }),
  ];
}

/** The policy-cost section of the scenario's summary. */
export function policyCostMarkdown(
  p: PolicyCostResult,
  table: (h: string[], rows: unknown[][]) => string,
): string {
  return [
    `Data-plane CPU per request by TrafficPolicy: ${p.rate} req/s fixed, ${p.clients} HTTP/1.1 connections, medians of ${p.reps} alternating repetitions (CPU of the \`kubegate gateway-api\` process, warm-up requests included).`,
    '',
    table(
      ['policy', 'CPU µs/req', 'over none (µs)', 'p50 (µs)', 'p99 (µs)', 'non-2xx + errors', 'runs (µs/req)'],
      VARIANTS.map((v) => {
        const m = p.byVariant[v];
        return [
          v,
          m.cpuMicrosPerRequest,
          p.overNone[v],
          m.p50Micros,
          m.p99Micros,
          m.non2xxOrErrors,
          m.runs.join(', '),
        ];
      }),
    ),
    '',
  ].join('\n');
}
