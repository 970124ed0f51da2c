import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, test } from 'node:test';
import { parseRequestHeaderSettings } from '../../../src/config/extension-apiserver-authentication.ts';
import { testPKI } from '../helpers/pem-files.ts';

// The data of kube-system/extension-apiserver-authentication as kube-apiserver writes it (lists as
// JSON); the live ConfigMap of the dev control plane is read by
// test/e2e/front-proxy-from-extension-apiserver-authentication.test.ts.
let ca = '';

before(async () => {
  ca = await readFile((await testPKI()).ca.cert, 'utf8');
});

const data = (extra: Record<string, string> = {}) => ({
  'client-ca-file': ca,
  'requestheader-client-ca-file': ca,
  'requestheader-allowed-names': '["front-proxy-client"]',
  'requestheader-username-headers': '["X-Remote-User"]',
  'requestheader-group-headers': '["X-Remote-Group"]',
  'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
  ...extra,
});

test('the CA, allowed names and header names are read; lists the cluster does not set stay unset', () => {
  assert.deepEqual(parseRequestHeaderSettings(data()), {
    ca,
    allowedNames: ['front-proxy-client'],
    usernameHeaders: ['X-Remote-User'],
    uidHeaders: undefined,
    groupHeaders: ['X-Remote-Group'],
    extraHeaderPrefixes: ['X-Remote-Extra-'],
  });
  assert.deepEqual(
    parseRequestHeaderSettings(data({ 'requestheader-uid-headers': '["X-Remote-Uid"]' })).uidHeaders,
    ['X-Remote-Uid'],
  );
});

test('a cluster without a requestheader CA is refused with the flag it lacks', () => {
  const { 'requestheader-client-ca-file': _, ...rest } = data();
  assert.throws(() => parseRequestHeaderSettings(rest), /--requestheader-client-ca-file/);
  assert.throws(
    () => parseRequestHeaderSettings(data({ 'requestheader-client-ca-file': 'garbage' })),
    /requestheader-client-ca-file: no PEM certificate/,
  );
});

test('a header name kubegate does not strip from forwarded requests is refused, naming it', () => {
  assert.throws(
    () => parseRequestHeaderSettings(data({ 'requestheader-username-headers': '["X-User"]' })),
    /requestheader-username-headers: "X-User" is not one of X-Remote-User/,
  );
  assert.throws(
    () => parseRequestHeaderSettings(data({ 'requestheader-extra-headers-prefix': '["X-Extra-"]' })),
    /"X-Extra-" is not a prefix starting with X-Remote-Extra-/,
  );
  assert.throws(
    () => parseRequestHeaderSettings(data({ 'requestheader-group-headers': 'X-Remote-Group' })),
    /requestheader-group-headers is not a JSON list of strings/,
  );
});
