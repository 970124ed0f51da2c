import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../../src/cli/errors.ts';
import { parseHostPort } from '../../../src/cli/host-port.ts';

test('HOST:PORT flags take IPv4, bracketed IPv6 and names, and name the flag when wrong', () => {
  assert.deepEqual(parseHostPort('dns', 'listen', '10.250.0.11:53'), { host: '10.250.0.11', port: 53 });
  assert.deepEqual(parseHostPort('dns', 'listen', '[fd00::1]:5353'), { host: 'fd00::1', port: 5353 });
  assert.deepEqual(parseHostPort('node', 'health-address', 'localhost:0'), { host: 'localhost', port: 0 });
  for (const bad of ['10.0.0.1', '10.0.0.1:', 'h:65536', 'h:-1', 'h:1.5'])
    assert.throws(
      () => parseHostPort('dns', 'listen', bad),
      (e: Error) => e instanceof UsageError && e.message === `dns: --listen must be HOST:PORT, got ${bad}`,
    );
});
