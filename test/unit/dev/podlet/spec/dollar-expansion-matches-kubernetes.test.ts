import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expand, mappingFor } from '../../../../../src/dev/podlet/spec/expansion.ts';
import { expandArgs, expandCommand } from '../../../../../src/dev/podlet/spec/index.ts';

// Cases from Kubernetes' third_party/forked/golang/expansion tests, restated.
test('expansion edge cases', () => {
  const m = mappingFor({ VAR_A: 'A', VAR_B: 'B', VAR_C: 'C', VAR_EMPTY: '', VAR_REF: '$(VAR_A)' });
  const cases: [string, string][] = [
    ['$(VAR_A)', 'A'],
    ['___$(VAR_B)___', '___B___'],
    ['$(VAR_A)-$(VAR_A)', 'A-A'],
    ['$(VAR_A)$(VAR_B)$(VAR_C)', 'ABC'],
    ['$(VAR_EMPTY)', ''],
    ['$(VAR_REF)', '$(VAR_A)'],
    ['$$(VAR_B)', '$(VAR_B)'],
    ['$$$(VAR_B)', '$B'],
    ['$$$$(VAR_A)', '$$(VAR_A)'],
    ['$(VAR_DNE)', '$(VAR_DNE)'],
    ['$(VAR_A', '$(VAR_A'],
    ['$()', '$()'],
    ['$', '$'],
    ['foo$', 'foo$'],
    ['$VAR_A', '$VAR_A'],
    ['$$', '$'],
    ['$(VAR_A)))', 'A))'],
    ['((($(VAR_A)', '(((A'],
    ['ünïcöde $(VAR_A) $ü', 'ünïcöde A $ü'],
  ];
  for (const [input, want] of cases) assert.equal(expand(input, m), want, input);
});

test('command and args expand against the resolved env', () => {
  const env = { GREETING: 'hello', NAME: 'pod' };
  assert.deepEqual(
    expandCommand(
      { name: 'c', command: ['/bin/echo', '$(GREETING)'], args: ['$(NAME)', '$$(NAME)', '$(NOPE)'] },
      env,
    ),
    ['/bin/echo', 'hello', 'pod', '$(NAME)', '$(NOPE)'],
  );
  assert.deepEqual(expandArgs(['x=$(NAME)'], env), ['x=pod']);
  assert.deepEqual(expandCommand({ name: 'c' }, env), []);
});
