import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertOriginForm, originForm } from '../../../src/proxy/request-target.ts';

// An absolute-form HTTP/1.1 target went upstream as the HTTP/2 `:path` as it came, which the
// apiserver answers with a stream reset (503 to the client, an upstream failure for the breaker).

test('absolute-form targets become their path and query; the client host is dropped', () => {
  assert.equal(originForm('https://elsewhere.example:6443/api/v1/pods?watch=1'), '/api/v1/pods?watch=1');
  assert.equal(originForm('HTTP://h/api'), '/api');
  assert.equal(originForm('https://h'), '/');
  assert.equal(originForm('https://h?x=1'), '/?x=1');
});

test('origin-form targets are returned as they are (the same string)', () => {
  const t = '/api/v1/namespaces/a%2Fb/secrets';
  assert.equal(originForm(t), t);
});

test('asterisk and authority forms are 400 BadRequest', () => {
  for (const t of ['*', 'localhost:6443', '']) {
    assert.throws(
      () => assertOriginForm(originForm(t)),
      (e: unknown) => (e as { code?: string; reason?: string }).code === 'KG_BAD_REQUEST',
    );
  }
  assertOriginForm('/api');
});
