import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parseDocument, stringify } from 'yaml';
import { ConfigError } from '../../../src/config/issues.ts';
import { parseYAML } from '../../../src/config/yaml.ts';
import { manyRules } from '../../../bench/lib/many-rules.ts';

// The configuration file is parsed with js-yaml (for speed, see src/config/yaml.ts) while `kubegate
// validate`, kubeconfigs and the generators use `yaml`: both must read a configuration alike.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** What `yaml` makes of one document: its value, or 'error'. */
function withYamlPackage(text: string): unknown {
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.length > 1 || list.some((d) => d.errors.length > 0)) return 'error';
  return list.length === 0 ? null : (list[0].toJS() as unknown);
}

/** What kubegate's parser makes of it: its value, or 'error' (always a ConfigError at `(document)`). */
function withParseYAML(text: string): unknown {
  try {
    return parseYAML(text, 'test.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(
      err.issues.map((i) => i.path),
      ['(document)'],
    );
    assert.match(err.issues[0].message, /^not valid YAML: /);
    return 'error';
  }
}

test('every single-document example and fixture reads the same as with the yaml package', () => {
  const dirs = ['examples', 'test/fixtures/config/broken'];
  let compared = 0;
  for (const dir of dirs)
    for (const name of readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.yaml'))) {
      const text = readFileSync(join(ROOT, dir, name), 'utf8');
      const docs = parseAllDocuments(text);
      if (Array.isArray(docs) && docs.length > 1) continue;
      assert.deepEqual(withParseYAML(text), withYamlPackage(text), `${dir}/${name}`);
      compared++;
    }
  assert.ok(compared >= 5, `compared ${compared} files`);
});

test('the 1000-rule bench configuration reads the same as with the yaml package', () => {
  const doc = { apiVersion: 'kubegate.io/v1alpha1', clusters: [{ name: 'c', rules: manyRules(1000, 3) }] };
  const text = stringify(doc);
  assert.deepEqual(withParseYAML(text), doc);
  assert.deepEqual(withParseYAML(text), parseDocument(text).toJS());
});

test('YAML 1.2 core schema edge cases read the same as with the yaml package, and errors are rejected by both', () => {
  const cases = [
    '',
    '# only a comment\n',
    '---\n',
    'a: yes\nb: no\nc: on\nd: ~\ne: null\n',
    'a: 0o14\nb: 014\nc: 0x1f\nd: 1_000\ne: .inf\nf: -.INF\ng: .nan\nh: 1e3\n',
    'a: 2001-12-14\nb: 2001-12-14t21:59:43.10-05:00\n',
    'x: &x { a: 1 }\ny:\n  <<: *x\n  b: 2\n',
    'a: "quoted: \\u00e9"\nb: \'single\'\nc: |\n  line 1\n  line 2\nd: >\n  folded\n  text\n',
    'a: [1, 2, { b: c }]\n',
    'a: 1\na: 2\n',
    'a: 1\n---\nb: 2\n',
    'a:\n\t- b\n',
    'a: [1, 2\n',
    'listeners: [ { name: main\n',
    'x:\n  - a\n  b: 2\n',
  ];
  for (const text of cases) {
    const mine = withParseYAML(text);
    const theirs = withYamlPackage(text);
    // NaN is not deepEqual-able by value in every position; compare through a replacer.
    const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (Number.isNaN(x) ? 'NaN' : x));
    assert.equal(json(mine), json(theirs), JSON.stringify(text));
  }
});

test('a syntax error names its line and column', () => {
  assert.throws(
    () => parseYAML('apiVersion: v1\nlisteners: [ { name: main\n', 'kubegate.yaml'),
    (err: unknown) =>
      err instanceof ConfigError &&
      /^kubegate\.yaml: \(document\): not valid YAML: .+ at line \d+, column \d+$/.test(err.message),
  );
});

test('nested aliases beyond 100 are refused (no exponential document)', () => {
  const lines = ['a0: &a0 [x]'];
  for (let i = 1; i <= 12; i++)
    lines.push(
      `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]`,
    );
  assert.equal(withParseYAML(lines.join('\n') + '\n'), 'error');
});
