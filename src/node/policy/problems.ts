import type { PolicyProblem } from './types.ts';

/** Collects the problems of one object, each naming the field it is about. */
export class ProblemSink {
  readonly problems: PolicyProblem[];
  readonly object: PolicyProblem['object'];

  constructor(problems: PolicyProblem[], object: PolicyProblem['object']) {
    this.problems = problems;
    this.object = object;
  }

  add(field: string, message: string): void {
    this.problems.push({ object: this.object, field, message });
  }
}
