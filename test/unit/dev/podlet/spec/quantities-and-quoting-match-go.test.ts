import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goQuote } from '../../../../../src/auth/go-text.ts';
import { formatMap } from '../../../../../src/dev/podlet/spec/fieldpath.ts';
import {
  milliValue,
  parseQuantity,
  renderResource,
  value,
} from '../../../../../src/dev/podlet/spec/quantity.ts';

test('quantities parse exactly and round up like resource.Quantity', () => {
  const cases: [string, bigint, bigint][] = [
    ['1', 1n, 1000n],
    ['250m', 1n, 250n],
    ['1.5', 2n, 1500n],
    ['0.1m', 1n, 1n],
    ['1Ki', 1024n, 1024000n],
    ['128Mi', 134217728n, 134217728000n],
    ['1G', 1000000000n, 1000000000000n],
    ['1e3', 1000n, 1000000n],
    ['2.5E-3', 1n, 3n],
    ['100n', 1n, 1n],
  ];
  for (const [text, v, m] of cases) {
    const q = parseQuantity(text);
    assert.equal(value(q), v, text);
    assert.equal(milliValue(q), m, text);
  }
  assert.throws(() => parseQuantity('ten'));
  assert.equal(renderResource('cpu', '1500m', '1'), '2');
  assert.equal(renderResource('memory', '1Gi', '1Mi'), '1024');
  assert.equal(renderResource('memory', '1Gi', undefined), '1073741824');
  assert.equal(renderResource('memory', undefined, '1'), '0');
});

test("label and annotation files quote values as Go's %q", () => {
  assert.equal(goQuote('plain'), '"plain"');
  assert.equal(goQuote('a"b\\c\n\t'), '"a\\"b\\\\c\\n\\t"');
  assert.equal(goQuote('ünï 日本'), '"ünï 日本"');
  assert.equal(goQuote('\x00\x7f\u200b'), '"\\x00\\x7f\\u200b"');
  assert.equal(formatMap({ z: '1', a: 'x' }), 'a="x"\nz="1"');
  assert.equal(formatMap({}), '');
});
