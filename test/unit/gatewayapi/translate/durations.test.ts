import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from '../../../../src/gatewayapi/translate/durations.ts';

test('Gateway API durations parse to milliseconds', () => {
  assert.equal(parseDuration('0s'), 0);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('1s'), 1000);
  assert.equal(parseDuration('1h2m'), 3_720_000);
  assert.equal(parseDuration('1h2m3s4ms'), 3_723_004);
  assert.equal(parseDuration('99999ms'), 99_999);
});

test('anything outside GEP-2257 is not a duration', () => {
  for (const bad of ['', '1', '1.5s', '-1s', '1d', '1 s', '100000s', '1h1h1h1h1h', 's', '1S', ' 1s'])
    assert.equal(parseDuration(bad), null, bad);
});
