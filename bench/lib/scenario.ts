import type { ScenarioResult } from './results.ts';

/** What every scenario gets: a private temp folder and the run's repetition and duration knobs. */
export interface ScenarioContext {
  dir: string;
  reps: number;
  durationSeconds: number;
  warmupSeconds: number;
}

/** A named benchmark; `run` starts and stops everything it needs. */
export interface Scenario {
  name: string;
  describe: string;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}
