import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:http2';
import type { Identity } from '../../../src/request/types.ts';
import { distinctHeaders } from '../../../src/auth/go-text.ts';
import { readImpersonation } from '../../../src/auth/impersonation.ts';
import {
  escapeExtraKey,
  impersonationHeaders,
  isFrontProxyHeader,
  isImpersonationHeader,
} from '../../../src/auth/impersonation-headers.ts';

const id = (over: Partial<Identity>): Identity => ({
  user: 'alice',
  uid: '',
  groups: [],
  extra: {},
  ...over,
});

test('user, uid, one line per group, one line per extra value, lowercase names', () => {
  assert.deepEqual(
    impersonationHeaders(
      id({ uid: 'u-1', groups: ['dev', 'a,b', 'system:authenticated'], extra: { scopes: ['view', 'edit'] } }),
    ),
    [
      ['impersonate-user', 'alice'],
      ['impersonate-uid', 'u-1'],
      ['impersonate-group', 'dev'],
      ['impersonate-group', 'a,b'],
      ['impersonate-extra-scopes', 'view'],
      ['impersonate-extra-scopes', 'edit'],
    ],
  );
});

test('no uid header when the uid is empty; no groups when there are none', () => {
  assert.deepEqual(impersonationHeaders(id({})), [['impersonate-user', 'alice']]);
});

test('system:authenticated is left to the API server, except where it would not add it back', () => {
  const groups = (i: Identity) =>
    impersonationHeaders(i)
      .filter(([n]) => n === 'impersonate-group')
      .map(([, v]) => v);
  assert.deepEqual(groups(id({ groups: ['system:authenticated'] })), []);
  // a service account sent without groups would get system:serviceaccounts* instead
  assert.deepEqual(groups(id({ user: 'system:serviceaccount:ns:sa', groups: ['system:authenticated'] })), [
    'system:authenticated',
  ]);
  assert.deepEqual(
    groups(
      id({ user: 'system:serviceaccount:ns:sa', groups: ['system:serviceaccounts', 'system:authenticated'] }),
    ),
    ['system:serviceaccounts'],
  );
  assert.deepEqual(groups(id({ user: 'system:anonymous', groups: ['system:unauthenticated'] })), [
    'system:unauthenticated',
  ]);
  assert.deepEqual(groups(id({ user: 'system:anonymous', groups: ['system:authenticated'] })), [
    'system:authenticated',
  ]);
});

test('extra keys are escaped like client-go headerKeyEscape, plus uppercase letters', () => {
  assert.equal(escapeExtraKey('scopes'), 'scopes');
  assert.equal(
    escapeExtraKey('authentication.kubernetes.io/credential-id'),
    'authentication.kubernetes.io%2Fcredential-id',
  );
  assert.equal(escapeExtraKey('100%'), '100%25');
  assert.equal(escapeExtraKey('a b:c'), 'a%20b%3Ac');
  assert.equal(escapeExtraKey("!#$&'*+-.^_`|~"), "!#$&'*+-.^_`|~");
  assert.equal(escapeExtraKey('café'), 'caf%C3%A9');
  assert.equal(escapeExtraKey('Key'), '%4Bey');
  const [, extra] = impersonationHeaders(id({ extra: { 'example.com/Key': ['v'] } }));
  assert.deepEqual(extra, ['impersonate-extra-example.com%2F%4Bey', 'v']);
});

test('non-ASCII values are sent as their UTF-8 bytes', () => {
  const [[, user]] = impersonationHeaders(id({ user: 'jöe' }));
  assert.equal(Buffer.from(user, 'latin1').toString('utf8'), 'jöe');
});

test('an empty user name cannot be impersonated (it would mean “as the gateway”)', () => {
  assert.throws(() => impersonationHeaders(id({ user: '' })));
});

test('round trip over real HTTP/2: what we send is what kube-apiserver’s parsing reads', async (t) => {
  const identity = id({
    user: 'jöe',
    uid: 'u-1',
    groups: ['dev', 'a, b', ''],
    extra: { 'authentication.kubernetes.io/credential-id': ['X509SHA256=ab'], 'Mixed/Case %': ['1', 'ü'] },
  });
  const srv = createServer();
  t.after(() => srv.close());
  const raw = new Promise<string[]>((resolve) =>
    srv.on('request', (req, res) => (resolve(req.rawHeaders), res.end())),
  );
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const client = connect(`http://127.0.0.1:${(srv.address() as { port: number }).port}`);
  t.after(() => client.close());
  const headers: Record<string, string | string[]> = { ':path': '/' };
  for (const [name, value] of impersonationHeaders(identity)) {
    const prev = headers[name];
    headers[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  }
  const req = client.request(headers);
  req.resume();
  req.end();
  const got = readImpersonation(distinctHeaders(await raw));
  assert.deepEqual(got, {
    user: identity.user,
    uid: identity.uid,
    groups: identity.groups,
    extra: identity.extra,
  });
});

test('client headers to strip: Impersonate-* and the front-proxy X-Remote-*', () => {
  for (const h of ['Impersonate-User', 'impersonate-uid', 'IMPERSONATE-GROUP', 'impersonate-extra-scopes']) {
    assert.ok(isImpersonationHeader(h), h);
  }
  for (const h of ['impersonate', 'impersonate-users', 'x-impersonate-user', 'authorization']) {
    assert.ok(!isImpersonationHeader(h), h);
  }
  for (const h of ['X-Remote-User', 'x-remote-group', 'x-remote-uid', 'X-Remote-Extra-Scopes']) {
    assert.ok(isFrontProxyHeader(h), h);
  }
  for (const h of ['x-remote-addr', 'x-remote', 'x-forwarded-for']) assert.ok(!isFrontProxyHeader(h), h);
});
