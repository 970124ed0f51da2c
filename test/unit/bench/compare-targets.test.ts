import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compare, type Cell, type Run } from '../../../bench/lib/matrix.ts';

function run(target: string, rep: number, cpu: number, reqPerSec: number): Run {
  return {
    target,
    rep,
    rate: 'max',
    reqPerSec,
    requests: 1000,
    succeeded: 1000,
    failed: 0,
    non2xx: 0,
    p50: 1000,
    p90: 2000,
    p99: 3000,
    allRequests: 1000,
    cpuMicrosPerRequest: cpu,
    rssMiB: 100,
  };
}

function cell(target: string, cpu: number, reqPerSec: number): Cell {
  return {
    target,
    rate: 'max',
    reqPerSec,
    p50: 1000,
    p90: 2000,
    p99: 3000,
    cpuMicrosPerRequest: cpu,
    rssMiB: 100,
    failed: 0,
    non2xx: 0,
  };
}

test('the CPU ratio is given of the medians and as the median of each repetition’s own ratio', () => {
  // Repetition 2 ran in a noisy spell that slowed both.
  const runs = [run('a', 1, 130, 10), run('b', 1, 100, 12), run('a', 2, 260, 5), run('b', 2, 150, 8)];
  runs.push(run('a', 3, 120, 11), run('b', 3, 100, 12));
  const cells = [cell('a', 130, 10), cell('b', 100, 12)];
  const max = compare(cells, 'a', 'b', runs)['max'] as Record<string, number>;
  assert.equal(max['cpuRatio'], 1.3);
  // 1.3, 1.733, 1.2 → 1.3
  assert.equal(max['cpuRatioPerRep'], 1.3);
  assert.equal(max['throughputRatio'], 0.833);
});

test('without runs (or CPU), no per-repetition ratio', () => {
  const max = compare([cell('a', 130, 10), cell('b', 100, 12)], 'a', 'b')['max'] as Record<string, unknown>;
  assert.equal(max['cpuRatioPerRep'], null);
});
