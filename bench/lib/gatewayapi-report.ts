import type { ChangesResult } from './gatewayapi-changes.ts';
import type { MachineLoad } from './gatewayapi-noise.ts';
import { policyCostMarkdown, type PolicyCostResult } from './gatewayapi-policy-cost.ts';
import type { PropagationAtSize } from './gatewayapi-propagation.ts';
import type { ThroughputResult } from './gatewayapi-throughput.ts';
import { table } from './results.ts';

/** The gatewayapi scenario's JSON document (beside the machine facts). */
export interface GatewayAPIData {
  setup: { cluster: string; backends: string; haproxy: string; load: string; reps: number };
  machineLoad: { before: MachineLoad; after: MachineLoad };
  /** Each part is absent when BENCH_GATEWAYAPI_PARTS left it out. */
  throughput?: ThroughputResult & {
    kubegateOverHAProxy: Record<'reqPerSec' | 'p50' | 'p99' | 'cpuMicrosPerRequest', number | null>;
  };
  propagation?: { targetMs: number; anchorsMs: Readonly<Record<string, string>>; sizes: PropagationAtSize[] };
  routeChanges?: ChangesResult[];
  policyCost?: PolicyCostResult;
}

const list = (xs: readonly (number | null)[]) => xs.map((x) => x ?? '–').join(', ');

/** The scenario's section of the day's summary. */
export function gatewayAPIMarkdown(d: GatewayAPIData): string {
  const load = (m: MachineLoad) =>
    `load average ${m.loadAverage.join(' / ')}, CPUs ${m.busyPercent ?? '?'}% busy; top: ${m.top.slice(0, 3).join('; ')}`;
  return [
    '## gatewayapi',
    '',
    ...(d.throughput === undefined ? [] : [throughputMarkdown(d, d.throughput)]),
    ...(d.propagation === undefined ? [] : [propagationMarkdown(d.propagation, d.routeChanges ?? [])]),
    ...(d.policyCost === undefined ? [] : [policyCostMarkdown(d.policyCost, table)]),
    `Machine before: ${load(d.machineLoad.before)}.`,
    `Machine after: ${load(d.machineLoad.after)}.`,
    '',
  ].join('\n');
}

function throughputMarkdown(d: GatewayAPIData, t: NonNullable<GatewayAPIData['throughput']>): string {
  const k = t.byTarget.kubegate!;
  const h = t.byTarget.haproxy!;
  const r = t.kubegateOverHAProxy;
  // One measure: both medians, their ratio, and each one's runs.
  const row = (
    label: string,
    m: 'reqPerSec' | 'p50Micros' | 'p99Micros' | 'cpuMicrosPerRequest',
    ratio: keyof typeof r,
    run: 'reqPerSec' | 'p50' | 'p99' | 'cpuMicrosPerRequest',
  ) => [
    label,
    k.median[m],
    h.median[m],
    r[ratio],
    list(k.runs.map((x) => x[run])),
    list(h.runs.map((x) => x[run])),
  ];
  return [
    `${d.setup.cluster}; ${d.setup.backends}. Load: ${d.setup.load}; HAProxy: ${d.setup.haproxy}. Medians of ${d.setup.reps} alternating repetitions.`,
    '',
    table(
      ['HTTP/1.1, max rate', 'kubegate', 'HAProxy', 'kubegate / HAProxy', 'kubegate runs', 'HAProxy runs'],
      [
        row('req/s', 'reqPerSec', 'reqPerSec', 'reqPerSec'),
        row('p50 (µs)', 'p50Micros', 'p50', 'p50'),
        row('p99 (µs)', 'p99Micros', 'p99', 'p99'),
        row(
          'proxy CPU per request (µs)',
          'cpuMicrosPerRequest',
          'cpuMicrosPerRequest',
          'cpuMicrosPerRequest',
        ),
        ['non-2xx + errors', k.median.non2xxOrErrors, h.median.non2xxOrErrors, '', '', ''],
      ],
    ),
    '',
  ].join('\n');
}

function propagationMarkdown(
  p: NonNullable<GatewayAPIData['propagation']>,
  routeChanges: readonly ChangesResult[],
): string {
  const ch = routeChanges[0];
  return [
    `New HTTPRoute (own host name, on Gateway \`example\`): POST answered → first 200 from outside (probe every ~2 ms), target ≤ ${p.targetMs} ms; published: ${Object.entries(
      p.anchorsMs,
    )
      .map(([n, v]) => `${n} ${v} ms`)
      .join(', ')}.`,
    '',
    table(
      [
        'routes',
        'median (ms)',
        'max (ms)',
        'from POST sent: median / max (ms)',
        'runs (ms)',
        'translate (ms)',
        'tables (ms)',
        'bulk: created / last served / all Accepted (s)',
      ],
      p.sizes.map((s) => [
        s.routes,
        s.medianMs,
        s.maxMs,
        `${s.fromSendMedianMs ?? '–'} / ${s.fromSendMaxMs ?? '–'}`,
        list(s.runs.map((x) => x.ms)),
        s.translate.translateMs,
        s.translate.tablesMs,
        `${s.bulk.added} in ${s.bulk.createSeconds} / ${s.bulk.lastServedSeconds} / ${s.bulk.allAcceptedSeconds}`,
      ]),
    ),
    '',
    ch
      ? `Steady load ${ch.rate} req/s (${ch.clients} HTTP/1.1 connections, ${ch.durationSeconds} s) against route \`steady\` while ${ch.changes} other routes change, one PATCH after another (medians; failed summed over the runs):`
      : '',
    '',
    table(
      [
        'routes',
        'runs',
        'requests answered',
        'failed (non-2xx + errors)',
        'p50 (µs)',
        'p99 (µs)',
        'changes took (s)',
        'last change served after (ms)',
      ],
      routeChanges.flatMap((c) =>
        (['quiet', 'changing'] as const).map((kind) => {
          const changing = c.runs.filter((x) => x.kind === 'changing');
          return [
            c.routes,
            kind,
            c.median[kind].requests,
            c.median[kind].failed,
            c.median[kind].p50Micros,
            c.median[kind].p99Micros,
            kind === 'changing' ? list(changing.map((x) => x.changesSeconds)) : '',
            kind === 'changing' ? list(changing.map((x) => x.lastChangeServedMs)) : '',
          ];
        }),
      ),
    ),
    '',
  ].join('\n');
}
