import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClusterSelector, hostName } from '../../../src/cluster/cluster-selector.ts';

const sel = new ClusterSelector(
  [
    { cluster: 'a', hosts: ['a.kubegate.test'] },
    { cluster: 'b', hosts: ['B.kubegate.test', '*.b.example'] },
    { cluster: 'c', hosts: ['exact.b.example'] },
  ],
  'a',
);

test('SNI picks the cluster; case and a trailing dot do not matter', () => {
  assert.equal(sel.forServerName('a.kubegate.test'), 'a');
  assert.equal(sel.forServerName('B.KUBEGATE.TEST.'), 'b');
});

test('no SNI and an unknown SNI get the default cluster; without a default none', () => {
  assert.equal(sel.forServerName(undefined), 'a');
  assert.equal(sel.forServerName('nobody.test'), 'a');
  const strict = new ClusterSelector([{ cluster: 'a', hosts: ['a.kubegate.test'] }]);
  assert.equal(strict.forServerName(undefined), undefined);
  assert.deepEqual(strict.select(undefined, 'x.test'), { refused: 'unknown-host', host: 'x.test' });
});

test('wildcards match one label only; an exact name of another cluster wins', () => {
  assert.equal(sel.forServerName('x.b.example'), 'b');
  assert.equal(sel.forServerName('y.x.b.example'), 'a');
  assert.equal(sel.forServerName('b.example'), 'a');
  assert.equal(sel.forServerName('exact.b.example'), 'c');
});

test('Host of the SNI cluster is accepted with port and any case', () => {
  assert.deepEqual(sel.select('b.kubegate.test', 'B.Kubegate.Test:6443'), { cluster: 'b' });
  assert.deepEqual(sel.select('b.kubegate.test', 'q.b.example'), { cluster: 'b' });
});

test('Host of another cluster is misdirected (no domain fronting)', () => {
  assert.deepEqual(sel.select('b.kubegate.test', 'a.kubegate.test:443'), {
    refused: 'misdirected',
    host: 'a.kubegate.test',
  });
  assert.deepEqual(sel.select('a.kubegate.test', 'q.b.example'), {
    refused: 'misdirected',
    host: 'q.b.example',
  });
});

test('a Host of no cluster passes only on a cluster without hosts of its own', () => {
  const lenient = new ClusterSelector([{ cluster: 'b', hosts: ['b.kubegate.test'] }], 'a');
  assert.deepEqual(lenient.select(undefined, 'alias.internal'), { cluster: 'a' });
  assert.deepEqual(lenient.select('localhost', 'localhost:8443'), { cluster: 'a' });
  assert.deepEqual(lenient.select('b.kubegate.test', 'alias.internal'), {
    refused: 'unknown-host',
    host: 'alias.internal',
  });
  // The default cluster lists hosts: it answers to those only, so a removed cluster's name, whose
  // handshake falls back to the default, is refused and never served by the default cluster.
  assert.deepEqual(sel.select(undefined, 'alias.internal'), {
    refused: 'unknown-host',
    host: 'alias.internal',
  });
  assert.deepEqual(sel.select('gone.kubegate.test', 'gone.kubegate.test'), {
    refused: 'unknown-host',
    host: 'gone.kubegate.test',
  });
  assert.deepEqual(sel.checkHost('a', 'a.kubegate.test'), { cluster: 'a' });
});

test('a Host that does not parse is refused only where hosts are listed; no Host keeps the SNI choice', () => {
  const lenient = new ClusterSelector([], 'a');
  assert.deepEqual(lenient.checkHost('a', 'evil.example/api'), { cluster: 'a' });
  assert.deepEqual(sel.checkHost('a', 'evil.example/api'), {
    refused: 'unknown-host',
    host: 'evil.example/api',
  });
  assert.deepEqual(sel.checkHost('b', undefined), { cluster: 'b' });
});

test('a name listed by two clusters belongs to the first', () => {
  const twice = new ClusterSelector([
    { cluster: 'x', hosts: ['same.test', '*.w.test'] },
    { cluster: 'y', hosts: ['same.test', '*.w.test', 'y.test'] },
  ]);
  assert.equal(twice.forServerName('same.test'), 'x');
  assert.equal(twice.forServerName('q.w.test'), 'x');
  assert.equal(twice.forServerName('y.test'), 'y');
});

test('IP literal hosts (IPv4, bracketed IPv6) name no cluster and keep the SNI choice', () => {
  assert.deepEqual(sel.select('b.kubegate.test', '127.0.0.1:8443'), { cluster: 'b' });
  assert.deepEqual(sel.select('b.kubegate.test', '[::1]:8443'), { cluster: 'b' });
  assert.equal(hostName('[::1]'), '::1');
  assert.equal(hostName('[FE80::1]:443'), 'fe80::1');
});

test('unparsable Host values are rejected by hostName', () => {
  for (const h of ['[::1', '[::1]x', 'a.test:port', ':443', '[not-ip]:1', 'a.test:'])
    assert.equal(hostName(h), undefined, h);
});
