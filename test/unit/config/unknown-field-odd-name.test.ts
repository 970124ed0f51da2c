import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkGatewayConfiguration } from '../../../src/config/file-config.ts';

// Found by test/unit/fuzz/config.fuzz.test.ts: an unknown key "" was reported with the empty path "".
test('an unknown field with an empty or dotted name is reported with a quoted, non-empty path', () => {
  const paths = checkGatewayConfiguration({ '': false, 'a.b': 1 }).map((i) => i.path);
  assert.ok(paths.includes('[""]'), paths.join(' '));
  assert.ok(paths.every((p) => p.length > 0));
});
