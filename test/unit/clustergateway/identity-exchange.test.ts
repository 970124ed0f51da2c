import assert from 'node:assert/strict';
import { test } from 'node:test';
import { impersonationHeaders, OWN_CREDENTIAL } from '../../../src/auth/index.ts';
import { checkExchangeRules, exchangeIdentity } from '../../../src/clustergateway/identity-exchange.ts';

const alice = { user: 'alice', uid: 'u1', groups: ['dev', 'system:authenticated'], extra: {} };
const doc = (rules: unknown[]) => ({ spec: { clientIdentityExchanger: { rules } } });

function rules(list: unknown[]) {
  const r = checkExchangeRules(doc(list), 'x');
  assert.ok('rules' in r, JSON.stringify(r));
  return r.rules;
}

test('the first matching StaticMapping rule maps the identity; no match keeps the caller', () => {
  const rs = rules([
    { name: 'a', type: 'StaticMappingIdentityExchanger', source: { user: 'bob' }, target: { user: 'x' } },
    {
      name: 'b',
      type: 'StaticMappingIdentityExchanger',
      source: { group: 'dev', cluster: 'b' },
      target: { user: 'b-dev', groups: ['g'] },
    },
    { name: 'c', type: 'StaticMappingIdentityExchanger', source: { group: 'dev' }, target: { user: 'late' } },
  ]);
  assert.deepEqual(exchangeIdentity(rs, alice, 'b'), { user: 'b-dev', uid: '', groups: ['g'], extra: {} });
  assert.equal(exchangeIdentity(rs, alice, 'c').user, 'late');
  const nobody = { ...alice, groups: [] };
  assert.equal(exchangeIdentity(rs, nobody, 'b'), nobody);
});

test('patterns are anchored: a pattern matches the whole name, unlike cluster-gateway’s regexps', () => {
  const rs = rules([
    {
      name: 'p',
      type: 'StaticMappingIdentityExchanger',
      source: { userPattern: 'ali', clusterPattern: 'b|c' },
      target: { user: 'x' },
    },
  ]);
  assert.equal(exchangeIdentity(rs, alice, 'b').user, 'alice'); // "ali" is only a substring
  const whole = rules([
    {
      name: 'p',
      type: 'StaticMappingIdentityExchanger',
      source: { userPattern: 'ali.*', clusterPattern: 'b|c' },
      target: { user: 'x' },
    },
  ]);
  assert.equal(exchangeIdentity(whole, alice, 'c').user, 'x');
  assert.equal(exchangeIdentity(whole, alice, 'bc').user, 'alice');
});

test('bad rules are refused with their field', () => {
  const r = checkExchangeRules(
    doc([
      { name: 'p', type: 'ExternalIdentityExchanger', source: {}, url: 'https://x' },
      { name: 'q', type: 'StaticMappingIdentityExchanger', source: { userPattern: '(' }, target: {} },
      { name: 'r', type: 'StaticMappingIdentityExchanger', target: { user: 'x' } },
    ]),
    'a',
  );
  assert.ok('issues' in r);
  assert.deepEqual(
    r.issues.map((i) => i.path),
    [
      'a.spec.clientIdentityExchanger.rules[0].type',
      'a.spec.clientIdentityExchanger.rules[1].source.userPattern',
      'a.spec.clientIdentityExchanger.rules[1].target.user',
      'a.spec.clientIdentityExchanger.rules[2].source',
    ],
  );
});

test('ExternalIdentityExchanger and unknown types are refused with the reason', () => {
  const r = checkExchangeRules(
    doc([
      { name: 'e', type: 'ExternalIdentityExchanger', source: { user: 'alice' }, url: 'https://x' },
      { name: 'u', type: 'Nope', source: { user: 'alice' } },
    ]),
    'a',
  );
  assert.ok('issues' in r);
  assert.match(r.issues[0].message, /ExternalIdentityExchanger is not served/);
  assert.match(r.issues[1].message, /"Nope" is not an exchanger type/);
});

test('a PrivilegedIdentityExchanger rule sends the cluster credential itself: no impersonation headers', () => {
  const list = rules([
    { name: 'ops', type: 'PrivilegedIdentityExchanger', source: { group: 'dev' } },
    {
      name: 'later',
      type: 'StaticMappingIdentityExchanger',
      source: { user: 'alice' },
      target: { user: 'x' },
    },
  ]);
  assert.equal(list[0].type, 'PrivilegedIdentityExchanger');
  const id = exchangeIdentity(list, alice, 'b');
  assert.equal(id, OWN_CREDENTIAL, 'the first matching rule wins');
  assert.deepEqual(impersonationHeaders(id), []);
  const bob = { ...alice, user: 'bob', groups: ['ops'] };
  assert.equal(exchangeIdentity(list, bob, 'b'), bob, 'no rule matches bob');
  assert.ok(impersonationHeaders(bob).length > 0, 'bob is impersonated as himself');
});
