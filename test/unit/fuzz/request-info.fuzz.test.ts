import fc from 'fast-check';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLongRunning, isReadOnly, parseRequestInfo } from '../../../src/request/request-info.ts';
import type { RequestInfo } from '../../../src/request/types.ts';
import { fuzzRuns, fuzzSeed, requestCorpus } from './corpus.ts';

const RUNS = fuzzRuns(20_000);
const CORPUS = requestCorpus();
const RESOURCE_VERBS = new Set([
  'get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection', 'proxy', '',
]); // prettier-ignore
const METHOD = fc.oneof(
  fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'get', 'WATCH'),
  fc.string({ maxLength: 8 }),
);
const SEGMENT = fc.oneof(
  fc.constantFrom(
    'api', 'apis', 'v1', 'apps', 'namespaces', 'watch', 'proxy', 'pods', 'status', 'finalize', 'log', 'exec',
    '', '.', '..', '%', '%zz', '%2F', '%2f', '%25', '%41pi', '%00', '%ff', '%C3%A9', '%e2%82', '?', '#', ';',
  ),
  fc.string({ maxLength: 6, unit: 'binary' }),
); // prettier-ignore
const QUERY_PAIR = fc.tuple(
  fc.constantFrom('watch', 'fieldSelector', 'labelSelector', 'limit', 'timeoutSeconds', 'x', ''),
  fc.oneof(
    fc.constantFrom('true', 'false', '0', '1', 'falſe', 'metadata.name%3Dweb', 'metadata.name==a,b=c', 'a%3Db', '99999999999999999999'),
    fc.string({ maxLength: 12 }),
  ),
).map(([k, v]) => `${k}=${v}`); // prettier-ignore
const QUERY = fc.array(QUERY_PAIR, { maxLength: 4 }).map((p) => (p.length ? '?' + p.join('&') : ''));
const GENERATED = fc
  .tuple(METHOD, fc.array(SEGMENT, { maxLength: 9 }), QUERY, fc.boolean())
  .map(([method, segs, query, slash]) => ({
    method,
    url: '/' + segs.join('/') + (slash ? '/' : '') + query,
  }));
// A real request line with a mutation: a segment inserted, replaced or dropped, a query appended, or raw junk.
const MUTATED = fc
  .tuple(fc.constantFrom(...CORPUS), fc.nat(), SEGMENT, fc.integer({ min: 0, max: 3 }), QUERY, METHOD)
  .map(([c, at, seg, how, query, method]) => {
    const [path, q] = c.url.split('?', 2) as [string, string | undefined];
    const segs = path.split('/');
    const i = at % (segs.length + 1);
    if (how === 0) segs.splice(i, 0, seg);
    else if (how === 1) segs[i] = seg;
    else if (how === 2) segs.splice(i, 1);
    const url = segs.join('/') + (q === undefined ? query : `?${q}${query.replace('?', '&')}`);
    return { method: at % 7 === 0 ? method : c.method, url };
  });
const ANY = fc.oneof(
  fc.constantFrom(...CORPUS),
  MUTATED,
  GENERATED,
  fc.record({ method: METHOD, url: fc.string({ maxLength: 60, unit: 'binary' }) }),
);

/** What holds for every RequestInfo, whatever the input: kube-apiserver's shape rules. */
function checkInvariants(method: string, url: string, info: RequestInfo): void {
  assert.equal(typeof info.path, 'string');
  for (const k of [
    'apiPrefix',
    'apiGroup',
    'apiVersion',
    'namespace',
    'resource',
    'subresource',
    'name',
  ] as const)
    assert.equal(typeof info[k], 'string', k);
  assert.ok(!info.namespace.includes('/'), 'namespace has no /');
  assert.ok(!info.name.includes('/'), 'name has no /');
  assert.ok(!info.resource.includes('/') && !info.subresource.includes('/'));
  if (info.isResourceRequest) {
    // Go's early return on a bare /watch or /proxy keeps the lowercase method as the verb.
    const early = info.parts.length === 0 && info.verb === method.toLowerCase();
    assert.ok(early || RESOURCE_VERBS.has(info.verb), `verb ${info.verb}`);
    assert.ok(info.apiPrefix === 'api' || info.apiPrefix === 'apis');
    assert.ok(info.apiPrefix === 'apis' || info.apiGroup === '', 'the core group has no group name');
    const trimmed = info.path.replace(/^\/+|\/+$/g, '');
    assert.ok(trimmed.startsWith(info.apiPrefix + '/'), 'resource request ⇔ /api/ or /apis/ path');
    // A bare /api/v1/watch or /proxy: Go returns the info so far with an error (kube-apiserver answers 500).
    if (info.parts.length === 0) assert.equal(info.resource, '');
    else assert.equal(info.parts[0], info.resource);
    if (info.parts.length === 1 && info.verb !== 'list' && info.verb !== 'watch') assert.equal(info.name, '');
    if (info.verb === 'deletecollection') assert.equal(info.name, '');
    // A list or watch has no name in the path (an empty segment counts as none); its name, if any, is the field selector's.
    if (info.verb === 'list') assert.equal(info.parts[1] ?? '', '', 'a list has no name in the path');
    if (info.verb === 'proxy') assert.equal(info.subresource, '');
  } else {
    assert.equal(info.verb, method.toLowerCase());
    assert.deepEqual([info.namespace, info.resource, info.subresource, info.name], ['', '', '', '']);
  }
  assert.equal(typeof isLongRunning(info), 'boolean');
  assert.equal(typeof isReadOnly(info), 'boolean');
  assert.ok(!url.includes('?') || !info.path.includes('?') || info.path.length <= url.length * 3);
}

test('RequestInfo: never throws and keeps the kube-apiserver shape rules on corpus, mutated and random requests', () => {
  fc.assert(
    fc.property(ANY, ({ method, url }) => checkInvariants(method, url, parseRequestInfo(method, url))),
    { numRuns: RUNS, seed: fuzzSeed() },
  );
});

const NAME = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);
const RESOURCE = NAME.filter((r) => r !== 'namespaces' && r !== 'watch' && r !== 'proxy');
const SUB = fc.constantFrom('', 'log', 'exec', 'scale', 'eviction', 'binding', 'ephemeralcontainers');
const VERBS: Record<string, [named: string, collection: string]> = {
  GET: ['get', 'list'], POST: ['create', 'create'], PUT: ['update', 'update'], PATCH: ['patch', 'patch'],
  DELETE: ['delete', 'deletecollection'],
}; // prettier-ignore

test('RequestInfo: a path built from group, version, namespace, resource, name and subresource parses back to them', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...Object.keys(VERBS)),
      fc.option(
        NAME.map((g) => g + '.example.io'),
        { nil: '' },
      ),
      fc.constantFrom('v1', 'v1beta1', 'v2alpha3'),
      fc.option(NAME, { nil: '' }),
      RESOURCE,
      fc.option(NAME, { nil: '' }),
      SUB,
      (method, group, version, ns, resource, name, sub) => {
        const subresource = name === '' ? '' : sub;
        const url =
          (group === '' ? '/api/' : `/apis/${group}/`) + version + (ns === '' ? '' : `/namespaces/${ns}`) +
          `/${resource}` + (name === '' ? '' : `/${name}`) + (subresource === '' ? '' : `/${subresource}`); // prettier-ignore
        const info = parseRequestInfo(method, url);
        assert.deepEqual(
          { ...info, parts: undefined },
          {
            isResourceRequest: true,
            path: url,
            verb: VERBS[method][name === '' ? 1 : 0],
            apiPrefix: group === '' ? 'api' : 'apis',
            apiGroup: group,
            apiVersion: version,
            namespace: ns,
            resource,
            subresource,
            name,
            parts: undefined,
          },
        );
      },
    ),
    { numRuns: Math.ceil(RUNS / 4), seed: fuzzSeed() },
  );
});

test('RequestInfo: fieldSelector=metadata.name=X on a list names X, watch=true makes it a watch', () => {
  fc.assert(
    fc.property(NAME, NAME, fc.boolean(), (resource, name, watch) => {
      const url = `/api/v1/namespaces/default/${resource}?fieldSelector=metadata.name%3D${name}${watch ? '&watch=true' : ''}`;
      const info = parseRequestInfo('GET', url);
      if (resource === 'namespaces' || resource === 'watch' || resource === 'proxy') return;
      assert.equal(info.name, name);
      assert.equal(info.verb, watch ? 'watch' : 'list');
    }),
    { numRuns: Math.ceil(RUNS / 4), seed: fuzzSeed() },
  );
});
