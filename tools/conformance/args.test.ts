import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRunArgs, UsageError } from './args.ts';

describe('parseRunArgs', () => {
  it('defaults to 20 parallel tests, 30 minutes and the kubegate GatewayClass', () => {
    assert.deepEqual(parseRunArgs(['--dev-dir', '/tmp/kg']), {
      devDir: '/tmp/kg',
      report: undefined,
      log: undefined,
      runTest: undefined,
      parallel: 20,
      timeoutMinutes: 30,
      gatewayClass: 'kubegate',
      debug: false,
      profiles: ['GATEWAY-HTTP', 'GATEWAY-TLS', 'GATEWAY-TCP', 'GATEWAY-UDP', 'GATEWAY-GRPC'],
      binary: undefined,
      extra: [],
    });
  });

  it('takes a list of conformance profiles and refuses an unknown one', () => {
    assert.deepEqual(parseRunArgs(['--dev-dir', 'd', '--profiles', 'GATEWAY-TCP,GATEWAY-UDP']).profiles, [
      'GATEWAY-TCP',
      'GATEWAY-UDP',
    ]);
    assert.throws(() => parseRunArgs(['--dev-dir', 'd', '--profiles', 'GATEWAY-TPC']), UsageError);
  });

  it('passes what follows -- to the suite as it is', () => {
    const o = parseRunArgs([
      '--dev-dir',
      'd',
      '--run-test',
      'HTTPRouteCORS',
      '--',
      '-skip-tests=A,B',
      '-debug',
    ]);
    assert.equal(o.runTest, 'HTTPRouteCORS');
    assert.deepEqual(o.extra, ['-skip-tests=A,B', '-debug']);
  });

  it('refuses a missing --dev-dir, a bad count, an unknown option and a stray argument', () => {
    assert.throws(() => parseRunArgs([]), UsageError);
    assert.throws(() => parseRunArgs(['--dev-dir', 'd', '--parallel', '0']), UsageError);
    assert.throws(() => parseRunArgs(['--dev-dir', 'd', '--paralel', '3']), UsageError);
    assert.throws(() => parseRunArgs(['--dev-dir', 'd', 'stray']), UsageError);
  });
});
