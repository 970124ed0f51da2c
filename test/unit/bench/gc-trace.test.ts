import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTraceGc, summarizeGc } from '../../../bench/lib/gc-trace.ts';

// Lines as Node 24 (V8 13) prints them with --trace-gc, from a bench run; other output between them.
const TRACE = [
  '[32674:0x43ff2000]      203 ms: Scavenge 9.1 (10.1) -> 8.6 (11.1) MB, pooled: 0 MB, 2.50 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; ',
  'kubegate listening',
  '[32674:0x7f5740001000]      368 ms: Mark-Compact 12.7 (20.4) -> 11.4 (20.9) MB, pooled: 0 MB, 8.57 / 0.00 ms  (+ 0.7 ms in 7 steps since start of marking, biggest step 0.2 ms, walltime since start of marking 25 ms) (average mu = 0.975, current mu = 0.975) finalize incremental marking via stack guard; GC in old space requested',
  '[32674:0x7f5740001000]      412 ms: Scavenge 14.0 (20.9) -> 12.1 (21.4) MB, pooled: 0 MB, 24.10 / 0.00 ms  (average mu = 0.975, current mu = 0.975) allocation failure; ',
  '[32674:0x7f5748197000]      420 ms: Scavenge 14.2 (20.9) -> 12.0 (21.4) MB, pooled: 0 MB, 6.00 / 0.00 ms  (average mu = 0.975, current mu = 0.975) allocation failure; ',
  '',
].join('\n');

test('each pause of a --trace-gc line is read: its thread, kind, time and pause (not the marking before it)', () => {
  assert.deepEqual(parseTraceGc(TRACE), [
    { isolate: '0x43ff2000', kind: 'scavenge', atMs: 203, pauseMs: 2.5 },
    { isolate: '0x7f5740001000', kind: 'mark-compact', atMs: 368, pauseMs: 8.57 },
    { isolate: '0x7f5740001000', kind: 'scavenge', atMs: 412, pauseMs: 24.1 },
    { isolate: '0x7f5748197000', kind: 'scavenge', atMs: 420, pauseMs: 6 },
  ]);
});

test('the summary counts pauses by kind and length, and the share of time the threads stood still', () => {
  const s = summarizeGc(parseTraceGc(TRACE), 1, 2);
  assert.deepEqual(s.scavenges, { count: 3, totalMs: 32.6, medianMs: 6, maxMs: 24.1 });
  assert.deepEqual(s.markCompacts, { count: 1, totalMs: 8.6, medianMs: 8.57, maxMs: 8.6 });
  assert.equal(s.over5ms, 3);
  assert.equal(s.over20ms, 1);
  // 41.17 ms paused over 1 s of 2 threads.
  assert.equal(s.pausedShare, 0.0206);
});

test('no pauses: zero counts, no lengths', () => {
  const s = summarizeGc(parseTraceGc('nothing here\n'), 10);
  assert.deepEqual(s.scavenges, { count: 0, totalMs: 0, medianMs: null, maxMs: null });
  assert.equal(s.over5ms, 0);
  assert.equal(s.pausedShare, 0);
});
