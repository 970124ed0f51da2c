import type { BgpScaleRound, BgpScaleSubject } from './bgp-scale-round.ts';
import { table } from './results.ts';
import { median, round } from './stats.ts';

/** What the bgp-scale scenario hands to the report. */
export interface BgpScaleData {
  services: number;
  nodes: number;
  withdraw: number;
  gobgpdVersion: string;
  rounds: BgpScaleRound[];
  /** The kubegate commit measured (null: unknown). */
  commit: string | null;
}

const SUBJECTS: readonly BgpScaleSubject[] = ['kubegate', 'gobgpd'];

const MEASURES: readonly { key: keyof BgpScaleRound; label: string }[] = [
  { key: 'establishedToConvergedMs', label: 'Established → converged (ms)' },
  { key: 'routerHasAllMs', label: 'Established → R holds all service /32s (ms)' },
  { key: 'subjectHasAllMs', label: 'Established → S holds all node prefixes (ms)' },
  { key: 'startToEstablishedMs', label: 'process start → Established (ms)' },
  { key: 'startToConvergedMs', label: 'process start → converged (ms)' },
  { key: 'cpuSeconds', label: 'S CPU, start → converged (s)' },
  { key: 'cpuSecondsAfterEstablished', label: 'S CPU, Established → converged (s)' },
  { key: 'peakRssMiB', label: 'S peak RSS at convergence (MiB)' },
  { key: 'withdrawMs', label: 'withdraw → R has dropped them (ms)' },
  { key: 'withdrawCpuSeconds', label: 'S CPU for the withdrawal (s)' },
];

/** Median of each measure per subject, and the ratio kubegate / gobgpd. */
export function summarizeBgpScale(
  rounds: readonly BgpScaleRound[],
): Record<string, Record<string, number | null>> {
  const out: Record<string, Record<string, number | null>> = {};
  for (const m of MEASURES) {
    const med = (s: BgpScaleSubject) =>
      median(rounds.filter((r) => r.subject === s).map((r) => r[m.key] as number));
    const ours = med('kubegate');
    const theirs = med('gobgpd');
    out[m.key] = {
      kubegate: round(ours, 3),
      gobgpd: round(theirs, 3),
      ratio: theirs > 0 ? round(ours / theirs, 2) : null,
    };
  }
  return out;
}

export function bgpScaleMarkdown(d: BgpScaleData): string {
  const s = summarizeBgpScale(d.rounds);
  const reps = d.rounds.filter((r) => r.subject === 'kubegate').length;
  return [
    '## bgp-scale',
    '',
    `One eBGP session between two network namespaces: the subject S originates ${d.services.toLocaleString('en')} ` +
      `service /32s and learns ${d.nodes.toLocaleString('en')} node /24s from the router R ` +
      `(${d.gobgpdVersion}, passive, fed and polled through its gRPC API every 10 ms). S is kubegate's ` +
      `Speaker (its own Node process, routes given through \`announce\`) or a second gobgpd (routes given ` +
      `through AddPathStream as soon as its API answers), alternating, ${reps} repetitions each, medians. ` +
      `Converged: R holds every /32 and S every node prefix. Then S withdraws ${d.withdraw.toLocaleString('en')} ` +
      `of the /32s. kubegate ${d.commit ?? 'unknown commit'}.`,
    '',
    table(
      ['measure', ...SUBJECTS, 'kubegate / gobgpd'],
      MEASURES.map((m) => [m.label, s[m.key]!.kubegate, s[m.key]!.gobgpd, s[m.key]!.ratio]),
    ),
    '',
    'gobgpd waits 1.5–2 s before its first connect (its minimum connect-retry), so "process start" ' +
      'times mostly measure that wait and Node start-up; compare the Established rows. Times are read by ' +
      'polling, good to about 10–20 ms.',
    '',
  ].join('\n');
}
