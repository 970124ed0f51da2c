import { readFileSync } from 'node:fs';

/** One request line of the shared corpus of real kubectl/client-go requests (test/fixtures/request-paths.txt). */
export interface CorpusRequest {
  method: string;
  url: string;
}

const FILE = new URL('../../fixtures/request-paths.txt', import.meta.url);

/** The corpus lines, comments and blank lines left out. */
export function requestCorpus(): CorpusRequest[] {
  return readFileSync(FILE, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => {
      const sp = l.indexOf(' ');
      return { method: l.slice(0, sp), url: l.slice(sp + 1) };
    });
}

/** Cases per fuzz property: FUZZ_RUNS, else a default that keeps the whole fuzz set to a few seconds. */
export function fuzzRuns(ciDefault: number): number {
  const n = Number(process.env.FUZZ_RUNS);
  return Number.isInteger(n) && n > 0 ? n : ciDefault;
}

/** FUZZ_SEED reproduces a failing run (fast-check prints the seed and the shrunk counterexample). */
export function fuzzSeed(): number | undefined {
  const n = Number(process.env.FUZZ_SEED);
  return Number.isInteger(n) ? n : undefined;
}
