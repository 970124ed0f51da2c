import { join } from 'node:path';

// Which upstream e2e cases judge kubegate's node networking, the flags the suite runs with against
// a `kubegate dev` folder, and the reading of Ginkgo's JSON report.

/**
 * The cases each judge runs (Ginkgo --focus/--skip regular expressions over the spec's full text).
 * netpol: every NetworkPolicy case but those that need SCTP in the kernel (this one has none);
 * the two "even if the plugin doesn't support SCTP" cases stay: they need only TCP traffic.
 * services: the Services cases that need only ClusterIP/NodePort reachability from pods, with no
 * cloud load balancer, DNS, node SSH or host-network pods.
 */
export const SUITES = {
  netpol: {
    focus: ['\\[sig-network\\] Netpol ', '\\[sig-network\\] NetworkPolicy API'],
    skip: ['Feature:SCTPConnectivity'],
  },
  services: {
    focus: [
      '\\[sig-network\\] Services should serve a basic endpoint from pods',
      '\\[sig-network\\] Services should serve multiport endpoints from pods',
      '\\[sig-network\\] Services should be able to create a functioning NodePort service',
      '\\[sig-network\\] Services should be able to change the type from ClusterIP to NodePort',
      '\\[sig-network\\] Services should be able to up and down services',
      '\\[sig-network\\] Services should be able to switch session affinity for service with type clusterIP',
      '\\[sig-network\\] Services should have session affinity work for service with type clusterIP',
      '\\[sig-network\\] Services should be rejected when no endpoints exist',
      '\\[sig-network\\] Services should allow pods to hairpin back to themselves through services',
      '\\[sig-network\\] Services should serve endpoints on same port and different protocols',
    ],
    skip: ['SCTP', '\\[Disruptive\\]', '\\[Feature:', 'LoadBalancer'],
  },
} as const;
export type SuiteName = keyof typeof SUITES;

export interface SuiteArgsOptions {
  suite: SuiteName;
  /** The `kubegate dev --dir` folder. */
  devDir: string;
  /** A scratch folder of this run (the framework writes reports and output there). */
  workDir: string;
  /** Narrows the suite's focus further (a regular expression). */
  focus?: string;
  kubectl?: string;
}

/** Ginkgo's own flags (without the `ginkgo.` prefix the test binary takes them with). */
export function ginkgoFlags(o: SuiteArgsOptions): string[] {
  const s = SUITES[o.suite];
  const focus = o.focus ? [o.focus] : s.focus;
  return [...focus.map((f) => `--focus=${f}`), ...s.skip.map((x) => `--skip=${x}`)];
}

/** The e2e framework's flags for a `kubegate dev` cluster. */
export function frameworkFlags(o: SuiteArgsOptions): string[] {
  return [
    // Through kubegate, as a user's kubectl goes: exec probes ride the gateway's upgrade path.
    `--kubeconfig=${join(o.devDir, 'gateway.kubeconfig')}`,
    '--provider=local',
    `--kubectl-path=${o.kubectl ?? 'kubectl'}`,
    `--report-dir=${join(o.workDir, 'report')}`,
    `--e2e-output-dir=${join(o.workDir, 'output')}`,
    // Pods and nodes of the local cluster are processes and namespaces, not machines: nothing to
    // dump but what the report says.
    '--dump-logs-on-failure=false',
    '--disable-log-dump',
    '--minStartupPods=0',
    '--node-schedulable-timeout=2m',
    '--system-pods-startup-timeout=1m',
  ];
}

/** Ginkgo's JSON report: one entry per suite run (the parts this reads). */
export interface GinkgoReport {
  SpecReports?: {
    ContainerHierarchyTexts?: string[] | null;
    LeafNodeText?: string;
    LeafNodeType?: string;
    State?: string;
    RunTime?: number;
    Failure?: { Message?: string; Location?: { FileName?: string; LineNumber?: number } };
  }[];
}

export interface SpecResult {
  name: string;
  state: 'passed' | 'failed' | 'skipped' | 'pending';
  seconds: number;
  /** The failure's first line, for a failed spec. */
  reason?: string;
}

const FAILED = new Set(['failed', 'panicked', 'timedout', 'interrupted', 'aborted']);

/** Each spec (and each failed setup node) of the report, with a state the runner counts. */
export function specResults(reports: readonly GinkgoReport[]): SpecResult[] {
  const out: SpecResult[] = [];
  for (const r of reports)
    for (const s of r.SpecReports ?? []) {
      const state = s.State ?? 'failed';
      const isSpec = s.LeafNodeType === 'It';
      // Suite-level nodes (BeforeSuite, ReportAfterSuite…) count only when they failed.
      if (!isSpec && !FAILED.has(state)) continue;
      const name = [...(s.ContainerHierarchyTexts ?? []), s.LeafNodeText ?? s.LeafNodeType ?? '']
        .filter((x) => x)
        .join(' ');
      const mapped: SpecResult['state'] = FAILED.has(state)
        ? 'failed'
        : state === 'passed'
          ? 'passed'
          : state === 'pending'
            ? 'pending'
            : 'skipped';
      const result: SpecResult = { name, state: mapped, seconds: (s.RunTime ?? 0) / 1e9 };
      if (mapped === 'failed') result.reason = (s.Failure?.Message ?? state).split('\n')[0].slice(0, 300);
      out.push(result);
    }
  return out;
}

export function summarize(results: readonly SpecResult[]): {
  passed: number;
  failed: number;
  skipped: number;
} {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const r of results)
    if (r.state === 'passed') passed++;
    else if (r.state === 'failed') failed++;
    else skipped++;
  return { passed, failed, skipped };
}
