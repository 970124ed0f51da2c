export { checkRule, checkRules, type ConfigIssue } from './check.ts';
export { compileRules } from './compile.ts';
export { formatExplanation } from './explain.ts';
export type { Explanation, RouteRule, RouteTable, SkippedRule } from './types.ts';
