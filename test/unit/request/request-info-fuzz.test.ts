import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLongRunning, isReadOnly, parseRequestInfo } from '../../../src/request/request-info.ts';

// Reproduce a failure with KUBEGATE_FUZZ_SEED=<seed>; KUBEGATE_FUZZ_RUNS raises the number of requests.
const SEED = Number(process.env.KUBEGATE_FUZZ_SEED ?? 0x6b756265) >>> 0;
const RUNS = Number(process.env.KUBEGATE_FUZZ_RUNS ?? 25_000);

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const METHODS = [
  'GET',
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'CONNECT',
  'get',
  'WATCH',
  'İ',
  '',
];
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);
const SEGMENTS = [
  ...[
    'api',
    'api',
    'apis',
    'apis',
    'v1',
    'v1beta1',
    'apps',
    'namespaces',
    'namespaces',
    'ns',
    'watch',
    'proxy',
  ],
  ...[
    'pods',
    'pods',
    'status',
    'finalize',
    'log',
    'exec',
    'attach',
    'portforward',
    'debug',
    'pprof',
    '',
    '',
    '*',
  ],
  ...[
    '.',
    '..',
    '%',
    '%zz',
    '%2',
    '%2F',
    '%2f',
    '%25',
    '%41pi',
    '%00',
    '%ff',
    '%C3%A9',
    '%e2%82',
    '%EF%BB%BF',
  ],
  ...[
    'é',
    '😀',
    '\uD800',
    '\uFFFD',
    '\u0000',
    '\u0001',
    '\u007f',
    ' ',
    '\t',
    '#',
    '?',
    '+',
    ':',
    'http:',
    '//',
  ],
  ...['a'.repeat(300), '%41'.repeat(200), 'x'.repeat(5000)],
];
const PREFIXES = [
  ['api', 'v1'],
  ['apis', 'apps', 'v1'],
  ['api', 'v1', 'namespaces'],
  ['apis', 'g', 'v1', 'watch'],
];
const QUERY_PIECES = [
  ...[
    'watch=',
    'watch=true',
    'watch=1',
    'watch=0',
    'watch=false',
    'watch=FALSE',
    'watch=fal%C5%BFe',
    'watch',
  ],
  ...['fieldSelector=metadata.name%3Dx', 'fieldSelector=metadata.name=x', 'fieldSelector=metadata.name==y'],
  ...[
    'fieldSelector=metadata.name!=z',
    'fieldSelector=metadata.name=a\\,b',
    'fieldSelector=metadata.name=..',
  ],
  ...['fieldSelector=metadata.name=%2F', 'fieldSelector=x', 'fieldSelector=', 'labelSelector=a%3Db'],
  ...['labelSelector=a+in+(b,c)', 'labelSelector=(', 'labelSelector=a%00', 'labelSelector=!a,b>1', 'limit=1'],
  ...[
    'limit=x',
    'limit=99999999999999999999',
    'timeoutSeconds=-1',
    'resourceVersion=0',
    '&&',
    '&',
    ';',
    '=',
    '%',
  ],
  ...[
    '%zz',
    '%zz=1',
    'wat%63h=1',
    '+',
    '?',
    '#',
    '\u0000',
    '😀',
    '\uDC00',
    'x'.repeat(2000),
    '&'.repeat(10_000),
  ],
];

function pick<T>(rand: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)];
}

function randomTarget(rand: () => number): string {
  // Half the paths start like real API paths, so that the resource-request logic gets exercised.
  const segments = rand() < 0.5 ? [...pick(rand, PREFIXES)] : [];
  for (let n = Math.floor(rand() * 9); n > 0; n--) segments.push(pick(rand, SEGMENTS));
  let target = segments.join('/');
  const r = rand();
  if (r < 0.8) target = '/' + target;
  else if (r < 0.85) target = pick(rand, ['http://kube', 'https://u@h:1', 'x:', ':']) + '/' + target;
  if (rand() < 0.15)
    return `${target}?fieldSelector=metadata.name%3D${pick(rand, SEGMENTS)}&${pick(rand, QUERY_PIECES)}`;
  if (rand() < 0.6) {
    const pieces: string[] = [];
    for (let n = Math.floor(rand() * 6); n > 0; n--) pieces.push(pick(rand, QUERY_PIECES));
    target += '?' + pieces.join(pick(rand, ['&', '&', ';', '']));
  }
  return target;
}

const VERBS = new Set([
  'get',
  'list',
  'watch',
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
  'proxy',
  '',
]);
const STRING_FIELDS = [
  'path',
  'verb',
  'apiPrefix',
  'apiGroup',
  'apiVersion',
  'namespace',
  'resource',
  'subresource',
  'name',
];

test(`parseRequestInfo never throws and keeps its invariants (seed ${SEED}, ${RUNS} requests)`, () => {
  const rand = mulberry32(SEED);
  for (let run = 0; run < RUNS; run++) {
    const method = pick(rand, METHODS);
    const target = randomTarget(rand);
    const where = `seed ${SEED}, request #${run}: ${method} ${JSON.stringify(target.slice(0, 300))}`;
    let info;
    try {
      info = parseRequestInfo(method, target);
    } catch (err) {
      assert.fail(`threw on ${where}: ${String(err)}`);
    }
    try {
      for (const field of STRING_FIELDS)
        assert.equal(typeof info[field as keyof typeof info], 'string', field);
      assert.ok(Array.isArray(info.parts) && info.parts.every((p) => typeof p === 'string'));
      assert.deepEqual(parseRequestInfo(method, target), info, 'deterministic');
      const { verb, parts } = info;
      // A verb is empty only for a resource request with a method kube-apiserver does not map.
      if (verb === '') assert.ok(method === '' || (info.isResourceRequest && !KNOWN_METHODS.has(method)));
      if (!info.isResourceRequest) {
        assert.equal(verb, method.toLowerCase());
        assert.ok(info.apiPrefix === '' || info.apiPrefix === 'apis');
        assert.deepEqual([info.apiGroup, info.apiVersion, info.namespace, parts.length], ['', '', '', 0]);
        assert.deepEqual([info.resource, info.subresource, info.name], ['', '', '']);
      } else {
        assert.ok(info.apiPrefix === 'api' || info.apiPrefix === 'apis');
        if (info.apiPrefix === 'api') assert.equal(info.apiGroup, '');
        assert.ok(
          info.path.replace(/^\/+/, '').startsWith(info.apiPrefix + '/'),
          'path starts with the prefix',
        );
        if (parts.length === 0) {
          // /watch or /proxy with nothing after it: Go's partial info (kube-apiserver answers 500).
          assert.equal(verb, method.toLowerCase());
          assert.deepEqual([info.resource, info.subresource, info.name, info.namespace], ['', '', '', '']);
        } else {
          assert.ok(VERBS.has(verb), `verb ${verb}`);
          assert.equal(info.resource, parts[0]);
          assert.equal(info.subresource, parts.length >= 3 && verb !== 'proxy' ? parts[2] : '');
          // The name is the second part; only a field selector names a collection request (no or empty
          // second part, as in /api/v1/pods//status).
          const named = (parts[1] ?? '') !== '';
          if (named) assert.equal(info.name, parts[1]);
          if (!named && info.name !== '') {
            assert.ok(verb === 'list' || verb === 'watch');
            assert.ok(!/^\.\.?$|[/%]/.test(info.name));
          }
          if (verb === 'list' || verb === 'deletecollection') assert.ok(!named);
          if (verb === 'deletecollection') assert.equal(info.name, '');
          if (verb === 'list' || verb === 'deletecollection' || verb === 'get')
            assert.ok(KNOWN_METHODS.has(method));
        }
      }
      assert.equal(info.name.includes('/'), false);
      assert.equal(
        isLongRunning(info),
        verb === 'watch' ||
          verb === 'proxy' ||
          (info.isResourceRequest
            ? ['attach', 'exec', 'proxy', 'log', 'portforward'].includes(info.subresource)
            : info.path.startsWith('/debug/pprof/')),
      );
      const reads = info.isResourceRequest ? ['get', 'list', 'watch'] : ['get', 'head'];
      assert.equal(isReadOnly(info), reads.includes(verb));
    } catch (err) {
      assert.fail(`${where}\n${String(err)}`);
    }
  }
});

test(`parseRequestInfo survives hostile inputs (seed ${SEED})`, () => {
  const rand = mulberry32(SEED ^ 0x9e3779b9);
  const alphabet = [
    '/',
    '%',
    '?',
    '&',
    '=',
    ';',
    ',',
    '\\',
    '(',
    ')',
    '!',
    '+',
    'a',
    'i',
    'n',
    '\u0000',
    '😀',
    '\uDFFF',
  ];
  const inputs = [
    '/api/v1/pods?' + 'a=b&'.repeat(20_000),
    '/api/v1/pods?labelSelector=' + '('.repeat(50_000),
    '/api/v1/pods?fieldSelector=' + '\\'.repeat(50_001),
    '/api/v1/pods?fieldSelector=' + 'metadata.name=x,'.repeat(10_000),
    '/api/v1/' + '%ff'.repeat(50_000),
    '/' + 'a/'.repeat(100_000),
  ];
  for (let run = 0; run < 2000; run++) {
    let s = '/api/v1/pods?' + pick(rand, ['watch=', 'fieldSelector=', 'labelSelector=', '']);
    for (let n = Math.floor(rand() * 40); n > 0; n--) s += pick(rand, alphabet);
    inputs.push(s);
  }
  for (const [i, target] of inputs.entries()) {
    for (const method of ['GET', 'DELETE']) {
      try {
        const info = parseRequestInfo(method, target);
        assert.equal(typeof info.verb, 'string');
      } catch (err) {
        assert.fail(
          `seed ${SEED}, input #${i} ${method} ${JSON.stringify(target.slice(0, 200))}: ${String(err)}`,
        );
      }
    }
  }
});
