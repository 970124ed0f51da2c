import { mkdir, writeFile, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Machine } from './machine.ts';

/** bench/results/, where every run's JSON and the day's summary land. */
export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

/** What a scenario hands back: its JSON document and its markdown section. */
export interface ScenarioResult {
  name: string;
  data: Record<string, unknown>;
  markdown: string;
}

/** UTC date of the run, `YYYY-MM-DD`. */
export function runDate(): string {
  return new Date().toISOString().slice(0, 10);
}

/** Writes `<date>-<name>.json`, and appends the scenario's section to `<date>-summary.md`. */
export async function saveResult(machine: Machine, r: ScenarioResult): Promise<string[]> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const date = runDate();
  const json = join(RESULTS_DIR, `${date}-${r.name}.json`);
  await writeFile(
    json,
    JSON.stringify({ scenario: r.name, at: new Date().toISOString(), machine, ...r.data }, null, 2) + '\n',
  );
  const md = join(RESULTS_DIR, `${date}-summary.md`);
  const existing = await readFile(md, 'utf8').catch(() => '');
  const header = existing || machineMarkdown(date, machine);
  // A scenario run again today replaces its own section.
  const sections = header.split(/\n(?=## )/).filter((s) => !s.startsWith(`## ${r.name}\n`));
  await writeFile(md, [...sections, r.markdown.trimEnd() + '\n'].join('\n'));
  return [json, md];
}

function machineMarkdown(date: string, m: Machine): string {
  return [
    `# kubegate benchmarks, ${date}`,
    '',
    `- CPUs: ${m.cpus} × ${m.cpuModel}; memory ${m.memoryGiB} GiB`,
    `- Node ${m.node}, kernel ${m.kernel}`,
    `- ${m.h2load}; ${m.haproxy}`,
    '',
  ].join('\n');
}

/** A markdown table from a header row and body rows. */
export function table(head: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const line = (cells: readonly unknown[]) =>
    `| ${cells.map((c) => (c === null || c === undefined ? '–' : String(c))).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}
