import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFieldSelector } from '../../../src/share/field-selector.ts';
import { parseLabelSelector, SelectorNotEvaluable } from '../../../src/share/label-selector.ts';

const labels = { app: 'web', tier: 'front', 'example.com/team': 'a', empty: '' };

test('label selectors: equality, sets, existence, and every requirement together', () => {
  const cases: [string, Record<string, string> | undefined, boolean][] = [
    ['', labels, true],
    ['', undefined, true],
    ['app=web', labels, true],
    ['app==web', labels, true],
    ['app=db', labels, false],
    ['app!=db', labels, true],
    ['missing!=x', labels, true],
    ['app!=web', labels, false],
    ['app in (db, web)', labels, true],
    ['app in (db)', labels, false],
    ['missing in (x)', labels, false],
    ['app notin (db)', labels, true],
    ['app notin (web,db)', labels, false],
    ['missing notin (x)', labels, true],
    ['app', labels, true],
    ['missing', labels, false],
    ['!missing', labels, true],
    ['!app', labels, false],
    ['app=web,tier=front', labels, true],
    ['app=web, tier=back', labels, false],
    ['example.com/team=a', labels, true],
    ['empty=', labels, true],
    ['app=', labels, false],
    ['app', undefined, false],
    ['!app', undefined, true],
    ['  app = web ,tier in(front) ', labels, true],
  ];
  for (const [s, l, want] of cases)
    assert.equal(parseLabelSelector(s).matches(l), want, `${s} on ${JSON.stringify(l)}`);
});

test('label selectors the gateway cannot evaluate exactly are refused (the list is forwarded)', () => {
  for (const s of [
    'a>1',
    'a<1',
    'a=b=c',
    'a in ()',
    'a in (x,)',
    'a in x',
    ',a',
    'a,',
    'a,,b',
    '!a=b',
    'in=x',
    'a=in',
    'a=b c',
    '-a=b',
    'a=' + 'x'.repeat(64),
    'Example.com/a=b',
    'a=b!',
    'a=ü',
    'a=(b)',
  ])
    assert.throws(() => parseLabelSelector(s), SelectorNotEvaluable, s);
});

test('field selectors on metadata.name and metadata.namespace', () => {
  const o = { name: 'a', namespace: 'ns' };
  const cases: [string, boolean][] = [
    ['', true],
    ['metadata.name=a', true],
    ['metadata.name==a', true],
    ['metadata.name!=a', false],
    ['metadata.name=b', false],
    ['metadata.namespace=ns', true],
    ['metadata.namespace!=ns', false],
    ['metadata.name=a,metadata.namespace=ns', true],
    ['metadata.name=a,metadata.namespace=other', false],
    ['metadata.name=', false],
  ];
  for (const [s, want] of cases) assert.equal(parseFieldSelector(s).matches(o), want, s);
  assert.equal(parseFieldSelector('metadata.namespace=x').namesNamespace, true);
  assert.equal(parseFieldSelector('metadata.name=x').namesNamespace, false);
});

test('field selectors on other fields, escapes or odd syntax are refused (the list is forwarded)', () => {
  for (const s of [
    'spec.nodeName=n',
    'status.phase!=Running',
    'metadata.name',
    'metadata.name=a\\,b',
    'metadata.name=a,',
    ' metadata.name=a',
    'metadata.name=a=b',
  ])
    assert.throws(() => parseFieldSelector(s), SelectorNotEvaluable, s);
});
