import type { MachineLoad } from './gatewayapi-noise.ts';
import { DISTRIBUTION, type Round } from './node-proxy-round.ts';
import { POD_A, POD_B } from './node-proxy-fixture.ts';
import { table } from './results.ts';
import { median, round } from './stats.ts';

/** What the node-proxy scenario hands to the report: every round and how the machine was. */
export interface NodeProxyData {
  rounds: Round[];
  /** Seconds the bench took to create the bulk Services and their slices, by total. */
  bulkCreateSeconds: Record<string, number>;
  machineLoad: { before: MachineLoad; after: MachineLoad };
  /** The kubegate commit measured (null: unknown). */
  commit: string | null;
}

type Side = 'kube-proxy' | 'kubegate node';
const SIDES: readonly Side[] = ['kube-proxy', 'kubegate node'];

interface Measure {
  label: string;
  values: (r: Round) => (number | null)[];
  /** Lower is better (a ratio kubegate / kube-proxy is printed). */
  ratio: boolean;
}

const MEASURES: readonly Measure[] = [
  { label: 'start → last Service reachable (ms)', values: (r) => [r.startToReachableMs], ratio: true },
  {
    label: 'first sync(s) after start (ms)',
    values: (r) => [r.firstSyncs ? r.firstSyncs.seconds * 1000 : null],
    ratio: true,
  },
  { label: 'Service create → first connection (ms)', values: (r) => r.createToConnectMs, ratio: true },
  { label: 'its EndpointSlice seen → first connection (ms)', values: (r) => r.sliceToConnectMs, ratio: true },
  { label: 'sync while creating, mean (ms)', values: (r) => [r.createSyncs?.meanMs ?? null], ratio: true },
  {
    label: 'endpoint added: label PATCH → first answer (ms)',
    values: (r) => [r.addPatchToTrafficMs],
    ratio: true,
  },
  {
    label: 'endpoint added: slice seen → first answer (ms)',
    values: (r) => [r.addSliceToTrafficMs],
    ratio: true,
  },
  {
    label: 'endpoint removed: slice seen → last answer (ms)',
    values: (r) => [r.removeSliceToLastMs],
    ratio: true,
  },
  {
    label: 'endpoint added, slice written by the bench: slice seen → first answer (ms)',
    values: (r) => [r.directAddSliceToTrafficMs],
    ratio: true,
  },
  {
    label: 'endpoint removed, slice written by the bench: slice seen → last answer (ms)',
    values: (r) => [r.directRemoveSliceToLastMs],
    ratio: true,
  },
  {
    label: 'sync of the label changes, mean (ms)',
    values: (r) => [r.endpointSyncs?.meanMs ?? null],
    ratio: true,
  },
  { label: 'nft list lines (proxy tables)', values: (r) => [r.rules.lines], ratio: true },
  { label: 'chains', values: (r) => [r.rules.chains], ratio: true },
  { label: 'rules', values: (r) => [r.rules.rules], ratio: true },
  { label: 'set and map elements', values: (r) => [r.rules.elements], ratio: true },
];

function values(rounds: readonly Round[], m: Measure): number[] {
  return rounds.flatMap(m.values).filter((v): v is number => v !== null);
}

/** Medians per proxy and the ratio kubegate / kube-proxy, for each measure at one Service count. */
export function summarize(rounds: readonly Round[]): Record<string, Record<string, number | null>> {
  const out: Record<string, Record<string, number | null>> = {};
  for (const m of MEASURES) {
    const [kp, kg] = SIDES.map((s) =>
      median(
        values(
          rounds.filter((r) => r.proxy === s),
          m,
        ),
      ),
    );
    out[m.label] = {
      'kube-proxy': round(kp!, 1),
      'kubegate node': round(kg!, 1),
      ratio: round(kg! / kp!, 2),
    };
  }
  return out;
}

function correctness(rounds: readonly Round[], side: Side): string {
  const mine = rounds.filter((r) => r.proxy === side);
  const sampled = mine.reduce((n, r) => n + r.reachable.sampled, 0);
  const answered = mine.reduce((n, r) => n + r.reachable.answered, 0);
  const a = mine.reduce((n, r) => n + (r.distribution[POD_A] ?? 0), 0);
  const b = mine.reduce((n, r) => n + (r.distribution[POD_B] ?? 0), 0);
  const errors = mine.reduce((n, r) => n + (r.distribution.errors ?? 0), 0);
  const connectFailed = mine.reduce((n, r) => n + r.createToConnectMs.filter((v) => v === null).length, 0);
  const left = mine.flatMap((r) => r.leftBehind);
  return [
    side,
    `${answered} / ${sampled}`,
    `${a} / ${b} (${round((100 * b) / Math.max(1, a + b), 1)}% ${POD_B})`,
    errors,
    connectFailed,
    left.length === 0 ? 'none' : left.join(', '),
  ].join(' | ');
}

function load(l: MachineLoad): string {
  return `load average ${l.loadAverage.join(' / ')}, CPUs ${l.busyPercent ?? '?'}% busy; top: ${l.top.slice(0, 3).join('; ')}`;
}

export function nodeProxyMarkdown(d: NodeProxyData): string {
  const totals = [...new Set(d.rounds.map((r) => r.services))];
  const parts = [
    '## node-proxy',
    '',
    "kube-proxy (the v1.37.2 module's cmd/kube-proxy, `--proxy-mode=nftables`, defaults otherwise: 1 s minimum sync period) and `kubegate node`, one after the other in the same 2-node `kubegate dev` lab (1 apiserver), alternating (kube-proxy, kubegate node, kube-proxy, …), each started on both nodes, measured from node-1's namespace, then stopped and its tables removed (its own cleanup, checked with `nft list tables`). Bulk Services have no selector and a bench-written EndpointSlice → pod bench-a (node-2); new Services select bench-a (slices by kube-controller-manager); the endpoint change adds / removes label `bench-scale=in` on pod bench-b (node-1), and then the same endpoint in the slice of Service bench-direct, which the bench writes itself (no Pod change before it). Sync times are the proxies' own histograms (kube-proxy's IPv4 proxier, `kubeproxy_sync_proxy_rules_duration_seconds{ip_family=IPv4}`, which carries every Service here; `kubegate_node_sync_duration_seconds`, both families in one sync); a round's mean is the histogram's sum over count across the changes. Start → reachable includes starting the process (`kubegate node` is a Node.js process loading its TypeScript). Medians over the rounds; ratio = kubegate node / kube-proxy (below 1: kubegate node lower).",
    `kubegate commit ${d.commit ?? 'unknown'}; kube-proxy built from k8s.io/kubernetes v1.37.2 (tools/e2e-suites).`,
    '',
  ];
  for (const n of totals) {
    const rounds = d.rounds.filter((r) => r.services === n);
    const reps = rounds.filter((r) => r.proxy === 'kube-proxy').length;
    const s = summarize(rounds);
    parts.push(
      `### ${n} Services (${reps} rounds each; bulk created in ${d.bulkCreateSeconds[String(n)] ?? '?'} s)`,
      '',
      table(
        ['measure', 'kube-proxy', 'kubegate node', 'ratio', 'kube-proxy runs', 'kubegate node runs'],
        MEASURES.map((m) => [
          m.label,
          s[m.label]!['kube-proxy'],
          s[m.label]!['kubegate node'],
          s[m.label]!.ratio,
          ...SIDES.map((side) =>
            values(
              rounds.filter((r) => r.proxy === side),
              m,
            )
              .map((v) => round(v, 1))
              .join(', '),
          ),
        ]),
      ),
      '',
      table(
        [
          'proxy',
          'sampled Services answering',
          `${POD_A} / ${POD_B}, ${DISTRIBUTION} connections per round, summed`,
          'request errors',
          'new Services never reached',
          'tables left by its own cleanup',
        ],
        SIDES.map((side) => correctness(rounds, side).split(' | ')),
      ),
      '',
    );
  }
  parts.push(
    `Machine before: ${load(d.machineLoad.before)}.`,
    `Machine after: ${load(d.machineLoad.after)}.`,
    '',
  );
  return parts.join('\n');
}
