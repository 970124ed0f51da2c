import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request, createServer } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../../../src/errors.ts';
import { distinctHeaders } from '../../../src/auth/go-text.ts';
import { readImpersonation } from '../../../src/auth/impersonation.ts';

function badRequest(message: string) {
  return (err: unknown) =>
    err instanceof GatewayError &&
    err.code === 'KG_BAD_REQUEST' &&
    err.status === 400 &&
    err.message === message;
}

test('no Impersonate-* headers: no impersonation', () => {
  assert.equal(readImpersonation({}), null);
  assert.equal(readImpersonation({ accept: 'application/json', 'x-remote-user': 'x' }), null);
  assert.equal(readImpersonation({ 'impersonate-user': '' }), null); // an empty user is no request
});

test('user only', () => {
  assert.deepEqual(readImpersonation({ 'impersonate-user': 'system:admin' }), {
    user: 'system:admin',
    uid: '',
    groups: [],
    extra: {},
  });
});

test('user, uid, several group lines and extras', () => {
  const r = readImpersonation({
    'impersonate-user': 'bob',
    'impersonate-uid': 'uid-1',
    'impersonate-group': ['dev', 'a, b'],
    'impersonate-extra-scopes': ['view', 'development'],
    'impersonate-extra-example.com%2fkey': 'v',
  });
  assert.deepEqual(r, {
    user: 'bob',
    uid: 'uid-1',
    groups: ['dev', 'a, b'], // a line is one group, commas and all
    extra: { scopes: ['view', 'development'], 'example.com/key': ['v'] },
  });
});

test('a single string value is a single line', () => {
  assert.deepEqual(readImpersonation({ 'impersonate-user': 'bob', 'impersonate-group': 'a,b' })?.groups, [
    'a,b',
  ]);
});

test('only the first line of user and uid counts (http.Header.Get)', () => {
  const r = readImpersonation({ 'impersonate-user': ['first', 'second'], 'impersonate-uid': ['u1', 'u2'] });
  assert.equal(r?.user, 'first');
  assert.equal(r?.uid, 'u1');
});

test('extra keys are lowercased, then unescaped; a bad escape keeps the key as sent', () => {
  const r = readImpersonation({
    'impersonate-user': 'bob',
    'Impersonate-Extra-Example.COM%2FKey%41': 'x',
    'impersonate-extra-bad%zzkey': 'y',
    'impersonate-extra-100%': 'z',
    'impersonate-extra-caf%C3%A9': 'w',
  });
  assert.deepEqual(r?.extra, { 'example.com/keyA': ['x'], 'bad%zzkey': ['y'], '100%': ['z'], café: ['w'] });
});

test('two header names that unescape to one key share its values', () => {
  const r = readImpersonation({
    'impersonate-user': 'bob',
    'impersonate-extra-ab': '1',
    'impersonate-extra-a%62': '2',
  });
  assert.deepEqual(r?.extra, { ab: ['1', '2'] });
});

test('an empty group line is still a group', () => {
  assert.deepEqual(readImpersonation({ 'impersonate-user': 'bob', 'impersonate-group': '' })?.groups, ['']);
});

test('groups, uid or extras without a user are a BadRequest with kube-apiserver’s message', () => {
  assert.throws(
    () => readImpersonation({ 'impersonate-group': ['a', 'b'] }),
    badRequest(
      'requested &user.DefaultInfo{Name:"", UID:"", Groups:[]string{"a", "b"}, Extra:map[string][]string(nil)} without impersonating a user name',
    ),
  );
  assert.throws(
    () => readImpersonation({ 'impersonate-uid': 'u"1' }),
    badRequest(
      'requested &user.DefaultInfo{Name:"", UID:"u\\"1", Groups:[]string(nil), Extra:map[string][]string(nil)} without impersonating a user name',
    ),
  );
  assert.throws(
    () => readImpersonation({ 'impersonate-extra-z': '1', 'impersonate-extra-a%2fb': ['x', 'y'] }),
    badRequest(
      'requested &user.DefaultInfo{Name:"", UID:"", Groups:[]string(nil), Extra:map[string][]string{"a/b":[]string{"x", "y"}, "z":[]string{"1"}}} without impersonating a user name',
    ),
  );
  assert.throws(() => readImpersonation({ 'impersonate-user': '', 'impersonate-group': 'g' }), GatewayError);
});

test('UTF-8 header bytes (latin1 in Node) are read as the text Go sees', () => {
  const latin1 = Buffer.from('jöe', 'utf8').toString('latin1');
  assert.equal(readImpersonation({ 'impersonate-user': latin1 })?.user, 'jöe');
});

test('over real HTTP: repeated lines survive through distinctHeaders(rawHeaders)', async (t) => {
  const received = new Promise<IncomingMessage>((resolve) => {
    const srv = createServer((req, res) => {
      resolve(req);
      res.end();
      srv.close();
    });
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      const req = request({
        host: '127.0.0.1',
        port,
        headers: {
          'Impersonate-User': 'bob',
          'Impersonate-Group': ['a, b', 'c'],
          'Impersonate-Extra-Scopes': ['x', 'y'],
          'Impersonate-Extra-Caf%C3%A9': Buffer.from('naïve', 'utf8').toString('latin1'),
        },
      });
      req.on('response', (res) => res.resume());
      req.end();
    });
  });
  const req = await received;
  t.diagnostic(
    `Node joins repeated lines in req.headers: ${JSON.stringify(req.headers['impersonate-group'])}`,
  );
  assert.deepEqual(readImpersonation(distinctHeaders(req.rawHeaders)), {
    user: 'bob',
    uid: '',
    groups: ['a, b', 'c'],
    extra: { scopes: ['x', 'y'], café: ['naïve'] },
  });
  assert.deepEqual(readImpersonation(req.headersDistinct)?.groups, ['a, b', 'c']);
});
