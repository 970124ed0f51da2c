import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AccessPolicy } from '../../../src/cluster/access.ts';
import { parseRequestInfo } from '../../../src/request/request-info.ts';
import type { Identity } from '../../../src/request/types.ts';

const info = parseRequestInfo('GET', '/api/v1/namespaces/a/pods');
const who = (user: string, groups: string[] = []): Identity => ({ user, uid: '', groups, extra: {} });

test('deny: any one listed user, group or address is refused, naming the list entry kind', () => {
  const p = new AccessPolicy({
    deny: { users: ['mallory'], groups: ['contractors'], clientCIDRs: ['192.0.2.0/24'] },
  });
  assert.match(
    p.refusal(info, who('mallory'), '10.0.0.1') ?? '',
    /denied by the cluster's access list \(users\)/,
  );
  assert.match(p.refusal(info, who('bob', ['contractors']), '10.0.0.1') ?? '', /\(groups\)/);
  assert.match(p.refusal(info, who('bob'), '192.0.2.7') ?? '', /\(client-cidrs\)/);
  assert.match(
    p.refusal(info, who('bob'), '::ffff:192.0.2.7') ?? '',
    /\(client-cidrs\)/,
    'IPv4-mapped address',
  );
  assert.equal(p.refusal(info, who('bob', ['devs']), '10.0.0.1'), null);
});

test('allow: when given, only a listed user, group or address passes; deny wins over allow', () => {
  const p = new AccessPolicy({
    allow: { groups: ['system:authenticated'], clientCIDRs: ['10.0.0.0/8'] },
    deny: { users: ['mallory'] },
  });
  assert.equal(p.refusal(info, who('alice', ['system:authenticated']), '203.0.113.1'), null, 'by group');
  assert.equal(
    p.refusal(info, who('system:anonymous', ['system:unauthenticated']), '10.1.2.3'),
    null,
    'by address',
  );
  assert.match(
    p.refusal(info, who('system:anonymous', ['system:unauthenticated']), '203.0.113.1') ?? '',
    /not on the cluster's allow list/,
  );
  assert.match(p.refusal(info, who('mallory', ['system:authenticated']), '10.0.0.1') ?? '', /denied/);
});

test('no lists: everyone passes', () => {
  assert.equal(new AccessPolicy({}).refusal(info, who('anyone'), '198.51.100.1'), null);
});
