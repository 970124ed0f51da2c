/** The result of one test, as `go test -v` reports it. */
export type GoTestResult = 'PASS' | 'FAIL' | 'SKIP';

/** One finished test: `--- PASS: TestX/Name (1.23s)`. */
export interface GoTestOutcome {
  /** The conformance test's ShortName (the subtest name below the top-level test). */
  readonly name: string;
  readonly result: GoTestResult;
  readonly seconds: number;
}

const RESULT_LINE = /^\s*--- (PASS|FAIL|SKIP): (\S+) \((\d+(?:\.\d+)?)s\)\s*$/;
const TIMEOUT_LINE = /^panic: test timed out after /;
// testify's failure report: indented lines whose text starts after a tab ("\tError:      \t…").
const TESTIFY_LINE = /^ *\t/;
const TESTIFY_FIELD = /^\s*(Error Trace|Error|Test|Messages):\s*(.*)$/;
/** At most this many failures of the top-level test itself are kept. */
const MAX_TOP_ERRORS = 3;

/**
 * Follows the `go test -v` output of one top-level test whose direct subtests are the conformance
 * tests (deeper subtests, one per request case, are not counted).
 */
export class GoTestResults {
  readonly top: string;
  /** Conformance tests in the order they finished. */
  readonly tests: GoTestOutcome[] = [];
  /** The top-level test's own result, once reported. */
  topResult: GoTestResult | undefined;
  /** The binary's -test.timeout expired (it panics with this message). */
  timedOut = false;
  /** Failures of the top-level test itself (suite setup), as testify reports them. */
  readonly topErrors: string[] = [];
  private block: { test: string; field: string; lines: string[] } | undefined;

  constructor(top: string) {
    this.top = top;
  }

  /** Takes one output line; returns the conformance test it finished, if any. */
  add(line: string): GoTestOutcome | undefined {
    if (TESTIFY_LINE.test(line)) {
      this.addTestifyLine(line);
      return undefined;
    }
    this.endBlock();
    if (TIMEOUT_LINE.test(line)) {
      this.timedOut = true;
      return undefined;
    }
    const m = RESULT_LINE.exec(line);
    if (!m) return undefined;
    const [, result, fullName, seconds] = m as unknown as [string, GoTestResult, string, string];
    if (fullName === this.top) {
      this.topResult = result;
      return undefined;
    }
    const prefix = this.top + '/';
    if (!fullName.startsWith(prefix)) return undefined;
    const name = fullName.slice(prefix.length);
    if (name.includes('/')) return undefined;
    const outcome = { name, result, seconds: Number(seconds) };
    this.tests.push(outcome);
    return outcome;
  }

  /** Takes one line of the binary's stderr, where only the timeout panic matters. */
  addStderr(line: string): void {
    if (TIMEOUT_LINE.test(line)) this.timedOut = true;
  }

  /** Ends the output: a failure report on the last lines is kept too. */
  finish(): void {
    this.endBlock();
  }

  private addTestifyLine(line: string): void {
    const block = (this.block ??= { test: '', field: '', lines: [] });
    const field = TESTIFY_FIELD.exec(line);
    if (field) block.field = field[1];
    if (field?.[1] === 'Test') block.test = field[2];
    else if (block.field === 'Error' || block.field === 'Messages') block.lines.push(line.trim());
  }

  private endBlock(): void {
    const block = this.block;
    this.block = undefined;
    if (block && block.test === this.top && block.lines.length > 0 && this.topErrors.length < MAX_TOP_ERRORS)
      this.topErrors.push(block.lines.join('\n'));
  }

  /** Names of the conformance tests with this result, sorted. */
  named(result: GoTestResult): string[] {
    return this.tests
      .filter((t) => t.result === result)
      .map((t) => t.name)
      .sort();
  }

  /** A few lines for a person: counts, then the failed, passed and skipped tests by name. */
  summary(): string {
    const failed = this.named('FAIL');
    const passed = this.named('PASS');
    const skipped = this.named('SKIP');
    const lines = [
      `${passed.length} passed, ${failed.length} failed, ${skipped.length} skipped` +
        (this.topResult ? ` (${this.top}: ${this.topResult})` : ` (${this.top}: no result)`),
    ];
    if (failed.length > 0) lines.push(`failed:  ${failed.join(', ')}`);
    if (passed.length > 0) lines.push(`passed:  ${passed.join(', ')}`);
    if (skipped.length > 0) lines.push(`skipped: ${skipped.join(', ')}`);
    return lines.join('\n');
  }
}
