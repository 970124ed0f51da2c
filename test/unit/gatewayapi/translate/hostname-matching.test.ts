import assert from 'node:assert/strict';
import { test } from 'node:test';
import { servedHostnames } from '../../../../src/gatewayapi/translate/attachment.ts';
import {
  compareSpecificity,
  coveringHostnames,
  covers,
  intersect,
} from '../../../../src/gatewayapi/translate/hostnames.ts';

test('a wildcard covers names with one or more labels in front of its suffix, not the suffix itself', () => {
  assert.equal(covers('*.example.com', 'a.example.com'), true);
  assert.equal(covers('*.example.com', 'a.b.example.com'), true);
  assert.equal(covers('*.example.com', '*.b.example.com'), true);
  assert.equal(covers('*.example.com', '*.example.com'), true);
  assert.equal(covers('*.example.com', 'example.com'), false);
  assert.equal(covers('*.example.com', 'aexample.com'), false);
  assert.equal(covers('*.example.com', '*.com'), false);
  assert.equal(covers('a.example.com', '*.example.com'), false);
  assert.equal(covers('*', '*.example.com'), true);
  assert.equal(covers('*.example.com', '*'), false);
});

test('route and listener hostnames intersect to the more specific of the two, or not at all', () => {
  assert.equal(intersect(null, 'foo.example.com'), 'foo.example.com');
  assert.equal(intersect('*.example.com', 'foo.example.com'), 'foo.example.com');
  assert.equal(intersect('foo.example.com', '*.example.com'), 'foo.example.com');
  assert.equal(intersect('*.foo.example.com', '*.example.com'), '*.foo.example.com');
  assert.equal(intersect('*.example.com', '*.foo.example.com'), '*.foo.example.com');
  assert.equal(intersect('foo.example.com', 'bar.example.com'), null);
  assert.equal(intersect('*.example.com', 'example.com'), null);
  assert.equal(intersect('very.specific.com', '*.specific.com'), 'very.specific.com');
});

test('a route without hostnames serves the listener hostname, or every host', () => {
  assert.deepEqual(servedHostnames('*.example.com', []), [{ host: '*.example.com', original: null }]);
  assert.deepEqual(servedHostnames(null, []), [{ host: '*', original: null }]);
  assert.deepEqual(servedHostnames('abc.example.com', ['*.example.com', 'other.org']), [
    { host: 'abc.example.com', original: '*.example.com' },
  ]);
});

test('hostnames order exact names first (longer first), then wildcards by length, then any host', () => {
  const sorted = ['*', '*.example.com', 'a.example.com', '*.foo.example.com', 'bb.example.com', 'a.com'].sort(
    compareSpecificity,
  );
  assert.deepEqual(sorted, [
    'bb.example.com',
    'a.example.com',
    'a.com',
    '*.foo.example.com',
    '*.example.com',
    '*',
  ]);
  assert.ok(compareSpecificity('*.example.com', null) < 0 && compareSpecificity(null, 'a.com') > 0);
});

test('coveringHostnames lists exactly the hostnames that cover a host', () => {
  const names = [
    '*',
    'a.b.c',
    'b.c',
    'c',
    '*.b.c',
    '*.c',
    'x.a.b.c',
    '*.a.b.c',
    'a.b.d',
    '*.d',
    'foo.example.com',
  ];
  for (const host of names) {
    const expected = names.filter((outer) => covers(outer, host)).sort();
    const listed = coveringHostnames(host)
      .filter((h) => names.includes(h))
      .sort();
    assert.deepEqual(listed, expected, host);
  }
});
