import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLongRunning, isReadOnly, parseRequestInfo } from '../../../src/request/request-info.ts';
import type { RequestInfo } from '../../../src/request/types.ts';

type Row = [
  method: string,
  url: string,
  verb: string,
  apiPrefix: string,
  apiGroup: string,
  apiVersion: string,
  namespace: string,
  resource: string,
  subresource: string,
  name: string,
  parts: string[],
];

/** A resource request as a Row describes it; `path` is the decoded path. */
function resource(row: Row, path = row[1].split('?')[0]): RequestInfo {
  const [, , verb, apiPrefix, apiGroup, apiVersion, namespace, resource, subresource, name, parts] = row;
  return {
    isResourceRequest: true,
    path,
    verb,
    apiPrefix,
    apiGroup,
    apiVersion,
    namespace,
    resource,
    subresource,
    name,
    parts,
  };
}

function nonResource(path: string, verb: string, apiPrefix = ''): RequestInfo {
  return {
    isResourceRequest: false,
    path,
    verb,
    apiPrefix,
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
    parts: [],
  };
}

// requestinfo_test.go TestGetAPIRequestInfo successCases. The Go table says apiPrefix "api" for the /apis rows
// but never checks it; kube-apiserver reports "apis" there.
const goSuccessCases: Row[] = [
  // resource paths
  ['GET', '/api/v1/namespaces', 'list', 'api', '', 'v1', '', 'namespaces', '', '', ['namespaces']],
  [
    'GET',
    '/api/v1/namespaces/other',
    'get',
    'api',
    '',
    'v1',
    'other',
    'namespaces',
    '',
    'other',
    ['namespaces', 'other'],
  ],
  ['GET', '/api/v1/namespaces/other/pods', 'list', 'api', '', 'v1', 'other', 'pods', '', '', ['pods']],
  [
    'GET',
    '/api/v1/namespaces/other/pods/foo',
    'get',
    'api',
    '',
    'v1',
    'other',
    'pods',
    '',
    'foo',
    ['pods', 'foo'],
  ],
  [
    'HEAD',
    '/api/v1/namespaces/other/pods/foo',
    'get',
    'api',
    '',
    'v1',
    'other',
    'pods',
    '',
    'foo',
    ['pods', 'foo'],
  ],
  ['GET', '/api/v1/pods', 'list', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
  ['HEAD', '/api/v1/pods', 'list', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
  [
    'GET',
    '/api/v1/namespaces/other/pods/foo',
    'get',
    'api',
    '',
    'v1',
    'other',
    'pods',
    '',
    'foo',
    ['pods', 'foo'],
  ],
  ['GET', '/api/v1/namespaces/other/pods', 'list', 'api', '', 'v1', 'other', 'pods', '', '', ['pods']],
  // special verbs
  [
    'GET',
    '/api/v1/proxy/namespaces/other/pods/foo',
    'proxy',
    'api',
    '',
    'v1',
    'other',
    'pods',
    '',
    'foo',
    ['pods', 'foo'],
  ],
  [
    'GET',
    '/api/v1/proxy/namespaces/other/pods/foo/subpath/not/a/subresource',
    'proxy',
    'api',
    '',
    'v1',
    'other',
    'pods',
    '',
    'foo',
    ['pods', 'foo', 'subpath', 'not', 'a', 'subresource'],
  ],
  ['GET', '/api/v1/watch/pods', 'watch', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
  ['GET', '/api/v1/pods?watch=true', 'watch', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
  ['GET', '/api/v1/pods?watch=false', 'list', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
  ['GET', '/api/v1/watch/namespaces/other/pods', 'watch', 'api', '', 'v1', 'other', 'pods', '', '', ['pods']],
  [
    'GET',
    '/api/v1/namespaces/other/pods?watch=1',
    'watch',
    'api',
    '',
    'v1',
    'other',
    'pods',
    '',
    '',
    ['pods'],
  ],
  [
    'GET',
    '/api/v1/namespaces/other/pods?watch=0',
    'list',
    'api',
    '',
    'v1',
    'other',
    'pods',
    '',
    '',
    ['pods'],
  ],
  // subresource identification
  [
    'GET',
    '/api/v1/namespaces/other/pods/foo/status',
    'get',
    'api',
    '',
    'v1',
    'other',
    'pods',
    'status',
    'foo',
    ['pods', 'foo', 'status'],
  ],
  [
    'GET',
    '/api/v1/namespaces/other/pods/foo/proxy/subpath',
    'get',
    'api',
    '',
    'v1',
    'other',
    'pods',
    'proxy',
    'foo',
    ['pods', 'foo', 'proxy', 'subpath'],
  ],
  [
    'PUT',
    '/api/v1/namespaces/other/finalize',
    'update',
    'api',
    '',
    'v1',
    'other',
    'namespaces',
    'finalize',
    'other',
    ['namespaces', 'other', 'finalize'],
  ],
  [
    'PUT',
    '/api/v1/namespaces/other/status',
    'update',
    'api',
    '',
    'v1',
    'other',
    'namespaces',
    'status',
    'other',
    ['namespaces', 'other', 'status'],
  ],
  // verb identification
  [
    'PATCH',
    '/api/v1/namespaces/other/pods/foo',
    'patch',
    'api',
    '',
    'v1',
    'other',
    'pods',
    '',
    'foo',
    ['pods', 'foo'],
  ],
  [
    'DELETE',
    '/api/v1/namespaces/other/pods/foo',
    'delete',
    'api',
    '',
    'v1',
    'other',
    'pods',
    '',
    'foo',
    ['pods', 'foo'],
  ],
  ['POST', '/api/v1/namespaces/other/pods', 'create', 'api', '', 'v1', 'other', 'pods', '', '', ['pods']],
  // deletecollection verb identification
  ['DELETE', '/api/v1/nodes', 'deletecollection', 'api', '', 'v1', '', 'nodes', '', '', ['nodes']],
  [
    'DELETE',
    '/api/v1/namespaces',
    'deletecollection',
    'api',
    '',
    'v1',
    '',
    'namespaces',
    '',
    '',
    ['namespaces'],
  ],
  [
    'DELETE',
    '/api/v1/namespaces/other/pods',
    'deletecollection',
    'api',
    '',
    'v1',
    'other',
    'pods',
    '',
    '',
    ['pods'],
  ],
  [
    'DELETE',
    '/apis/extensions/v1/namespaces/other/pods',
    'deletecollection',
    'apis',
    'extensions',
    'v1',
    'other',
    'pods',
    '',
    '',
    ['pods'],
  ],
  // api group identification
  [
    'POST',
    '/apis/extensions/v1/namespaces/other/pods',
    'create',
    'apis',
    'extensions',
    'v1',
    'other',
    'pods',
    '',
    '',
    ['pods'],
  ],
  // api version identification
  [
    'POST',
    '/apis/extensions/v1beta3/namespaces/other/pods',
    'create',
    'apis',
    'extensions',
    'v1beta3',
    'other',
    'pods',
    '',
    '',
    ['pods'],
  ],
];

test('requestinfo_test.go TestGetAPIRequestInfo success cases', () => {
  for (const row of goSuccessCases) {
    assert.deepEqual(parseRequestInfo(row[0], row[1]), resource(row), `${row[0]} ${row[1]}`);
  }
});

test('requestinfo_test.go TestGetAPIRequestInfo error cases are non-resource requests', () => {
  const cases: [string, string, RequestInfo][] = [
    ['no resource path', '/', nonResource('/', 'get')],
    ['just apiversion', '/api/version/', nonResource('/api/version/', 'get')],
    [
      'just prefix, group, version',
      '/apis/group/version/',
      nonResource('/apis/group/version/', 'get', 'apis'),
    ],
    ['apiversion with no resource', '/api/version/', nonResource('/api/version/', 'get')],
    ['bad prefix', '/badprefix/version/resource', nonResource('/badprefix/version/resource', 'get')],
    // Go sets APIPrefix before noticing the group/version is incomplete.
    ['missing api group', '/apis/version/resource', nonResource('/apis/version/resource', 'get', 'apis')],
  ];
  for (const [name, url, want] of cases) assert.deepEqual(parseRequestInfo('GET', url), want, name);
});

test('requestinfo_test.go TestGetNonAPIRequestInfo', () => {
  const cases: [string, string, boolean][] = [
    ['simple groupless', '/api/version/resource', true],
    ['simple group', '/apis/group/version/resource/name/subresource', true],
    ['more steps', '/api/version/resource/name/subresource', true],
    ['group list', '/apis/batch/v1/job', true],
    ['group get', '/apis/batch/v1/job/foo', true],
    ['group subresource', '/apis/batch/v1/job/foo/scale', true],
    ['bad root', '/not-api/version/resource', false],
    ['group without enough steps', '/apis/extensions/v1beta1', false],
    ['group without enough steps 2', '/apis/extensions/v1beta1/', false],
    ['not enough steps', '/api/version', false],
    ['one step', '/api', false],
    ['zero step', '/', false],
    // Go's test builds the request from "" directly; a server never sees an empty target (Go rejects it).
    ['empty', '', false],
  ];
  for (const [name, url, want] of cases)
    assert.equal(parseRequestInfo('GET', url).isResourceRequest, want, name);
});

test('requestinfo_test.go TestSelectorParsing (name and verb)', () => {
  const cases: [string, string, string, string, string][] = [
    ['no selector', 'GET', '/apis/group/version/resource', '', 'list'],
    [
      'metadata.name selector',
      'GET',
      '/apis/group/version/resource?fieldSelector=metadata.name=name1',
      'name1',
      'list',
    ],
    [
      'metadata.name selector with watch',
      'GET',
      '/apis/group/version/resource?watch=true&fieldSelector=metadata.name=name1',
      'name1',
      'watch',
    ],
    [
      'random selector',
      'GET',
      '/apis/group/version/resource?fieldSelector=foo=bar&labelSelector=baz=qux',
      '',
      'list',
    ],
    [
      'invalid selector with metadata.name',
      'GET',
      '/apis/group/version/resource?fieldSelector=metadata.name=name1,foo',
      '',
      'list',
    ],
    [
      'invalid selector with metadata.name with watch',
      'GET',
      '/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=true',
      '',
      'watch',
    ],
    [
      'invalid selector with metadata.name with watch false',
      'GET',
      '/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=false',
      '',
      'list',
    ],
    [
      'selector on deletecollection is honored',
      'DELETE',
      '/apis/group/version/resource?fieldSelector=foo=bar&labelSelector=baz=qux',
      '',
      'deletecollection',
    ],
    [
      'selector on repeated param matches parsed param',
      'GET',
      '/apis/group/version/resource?fieldSelector=metadata.name=foo&fieldSelector=metadata.name=bar&labelSelector=foo=bar&labelSelector=foo=baz',
      'foo',
      'list',
    ],
    [
      'selector on other verb is ignored',
      'GET',
      '/apis/group/version/resource/name?fieldSelector=foo=bar&labelSelector=foo=bar',
      'name',
      'get',
    ],
    [
      'selector on deprecated root type watch is not parsed',
      'GET',
      '/apis/group/version/watch/resource?fieldSelector=metadata.name=foo&labelSelector=foo=bar',
      '',
      'watch',
    ],
    [
      'selector on deprecated root item watch is not parsed',
      'GET',
      '/apis/group/version/watch/resource/name?fieldSelector=metadata.name=foo&labelSelector=foo=bar',
      'name',
      'watch',
    ],
  ];
  for (const [name, method, url, wantName, wantVerb] of cases) {
    const info = parseRequestInfo(method, url);
    assert.deepEqual([info.name, info.verb], [wantName, wantVerb], name);
  }
});

test('paths: prefixes, groups, namespaces, special verbs, splitting', () => {
  const rows: Row[] = [
    [
      'GET',
      '/api/v1/namespaces/ns',
      'get',
      'api',
      '',
      'v1',
      'ns',
      'namespaces',
      '',
      'ns',
      ['namespaces', 'ns'],
    ],
    [
      'GET',
      '/api/v1/namespaces/ns/status',
      'get',
      'api',
      '',
      'v1',
      'ns',
      'namespaces',
      'status',
      'ns',
      ['namespaces', 'ns', 'status'],
    ],
    [
      'GET',
      '/api/v1/namespaces/ns/status/x',
      'get',
      'api',
      '',
      'v1',
      'ns',
      'namespaces',
      'status',
      'ns',
      ['namespaces', 'ns', 'status', 'x'],
    ],
    // A namespace named "namespaces" is an ordinary namespace.
    [
      'GET',
      '/api/v1/namespaces/namespaces/namespaces',
      'list',
      'api',
      '',
      'v1',
      'namespaces',
      'namespaces',
      '',
      '',
      ['namespaces'],
    ],
    [
      'GET',
      '/apis/apps/v1/deployments',
      'list',
      'apis',
      'apps',
      'v1',
      '',
      'deployments',
      '',
      '',
      ['deployments'],
    ],
    [
      'GET',
      '/apis/apps/v1/namespaces/ns/deployments/d/scale',
      'get',
      'apis',
      'apps',
      'v1',
      'ns',
      'deployments',
      'scale',
      'd',
      ['deployments', 'd', 'scale'],
    ],
    [
      'POST',
      '/api/v1/namespaces/ns/pods/p/exec',
      'create',
      'api',
      '',
      'v1',
      'ns',
      'pods',
      'exec',
      'p',
      ['pods', 'p', 'exec'],
    ],
    [
      'GET',
      '/api/v1/namespaces/ns/pods/p/log',
      'get',
      'api',
      '',
      'v1',
      'ns',
      'pods',
      'log',
      'p',
      ['pods', 'p', 'log'],
    ],
    // The legacy /watch/ prefix overrides the method, and the Go code does not read ?watch after it.
    [
      'GET',
      '/api/v1/watch/namespaces/ns/pods/p',
      'watch',
      'api',
      '',
      'v1',
      'ns',
      'pods',
      '',
      'p',
      ['pods', 'p'],
    ],
    ['DELETE', '/api/v1/watch/pods', 'watch', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
    [
      'GET',
      '/apis/apps/v1/watch/deployments?watch=false',
      'watch',
      'apis',
      'apps',
      'v1',
      '',
      'deployments',
      '',
      '',
      ['deployments'],
    ],
    [
      'GET',
      '/api/v1/watch/namespaces/ns',
      'watch',
      'api',
      '',
      'v1',
      'ns',
      'namespaces',
      '',
      'ns',
      ['namespaces', 'ns'],
    ],
    // proxy takes no subresource; watch does.
    [
      'GET',
      '/api/v1/proxy/nodes/n1/metrics',
      'proxy',
      'api',
      '',
      'v1',
      '',
      'nodes',
      '',
      'n1',
      ['nodes', 'n1', 'metrics'],
    ],
    [
      'GET',
      '/api/v1/watch/pods/p/status',
      'watch',
      'api',
      '',
      'v1',
      '',
      'pods',
      'status',
      'p',
      ['pods', 'p', 'status'],
    ],
    // Leading and trailing slashes are trimmed; inner empty segments are kept.
    ['GET', '///api/v1/pods///', 'list', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
    ['GET', '/api/v1//pods', 'get', 'api', '', 'v1', '', '', '', 'pods', ['', 'pods']],
    ['GET', '/api//pods', 'list', 'api', '', '', '', 'pods', '', '', ['pods']],
    // Verbs come from the exact (case-sensitive) method; unknown methods give an empty verb.
    ['OPTIONS', '/api/v1/pods', '', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
    ['get', '/api/v1/pods', '', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
    [
      'CONNECT',
      '/api/v1/namespaces/ns/pods/p/exec',
      '',
      'api',
      '',
      'v1',
      'ns',
      'pods',
      'exec',
      'p',
      ['pods', 'p', 'exec'],
    ],
    ['PUT', '/api/v1/pods', 'update', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
    ['PATCH', '/api/v1/pods', 'patch', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
    ['POST', '/api/v1/pods?watch=true', 'create', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
    [
      'DELETE',
      '/api/v1/pods?fieldSelector=metadata.name=x',
      'deletecollection',
      'api',
      '',
      'v1',
      '',
      'pods',
      '',
      '',
      ['pods'],
    ],
  ];
  for (const row of rows)
    assert.deepEqual(parseRequestInfo(row[0], row[1]), resource(row), `${row[0]} ${row[1]}`);
});

test('non-resource requests keep the method and the path', () => {
  const cases: [string, string, RequestInfo][] = [
    ['GET', '/healthz', nonResource('/healthz', 'get')],
    ['POST', '/healthz?verbose', nonResource('/healthz', 'post')],
    ['GET', '/api', nonResource('/api', 'get')],
    ['GET', '/api/v1', nonResource('/api/v1', 'get')],
    ['GET', '/api/v1/', nonResource('/api/v1/', 'get')],
    ['HEAD', '/apis', nonResource('/apis', 'head')],
    ['GET', '/apis/apps/v1', nonResource('/apis/apps/v1', 'get', 'apis')],
    ['GET', '/openapi/v3/apis/apps/v1', nonResource('/openapi/v3/apis/apps/v1', 'get')],
    ['GET', '/apiss/x/y/z', nonResource('/apiss/x/y/z', 'get')],
    ['GET', '/API/v1/pods', nonResource('/API/v1/pods', 'get')],
    ['Weird', '/version', nonResource('/version', 'weird')],
    ['OPTIONS', '*', nonResource('*', 'options')],
  ];
  for (const [method, url, want] of cases)
    assert.deepEqual(parseRequestInfo(method, url), want, `${method} ${url}`);
});

test('/watch and /proxy with nothing after them: the partial info Go returns with its error', () => {
  // kube-apiserver answers these with 500; the verb is still the lowercase method.
  for (const [url, prefix, group] of [
    ['/api/v1/watch', 'api', ''],
    ['/api/v1/proxy/', 'api', ''],
    ['/apis/apps/v1/watch', 'apis', 'apps'],
  ]) {
    assert.deepEqual(parseRequestInfo('GET', url), {
      ...nonResource(url, 'get', prefix),
      isResourceRequest: true,
      apiGroup: group,
      apiVersion: 'v1',
    });
  }
});

test('?watch: anything but 0 or false (case-insensitively) is true', () => {
  const cases: [string, string][] = [
    ['watch=true', 'watch'],
    ['watch=1', 'watch'],
    ['watch=t', 'watch'],
    ['watch=T', 'watch'],
    ['watch=TRUE', 'watch'],
    ['watch=True', 'watch'],
    ['watch=yes', 'watch'],
    ['watch=no', 'watch'],
    ['watch=f', 'watch'],
    ['watch=', 'watch'],
    ['watch', 'watch'],
    ['watch=0', 'list'],
    ['watch=false', 'list'],
    ['watch=FALSE', 'list'],
    ['watch=fAlSe', 'list'],
    ['watch=00', 'watch'],
    // EqualFold folds U+017F LATIN SMALL LETTER LONG S to s.
    ['watch=fal%C5%BFe', 'list'],
    // ...but after a decoding error Go re-reads watch with ToLower, which does not.
    ['watch=fal%C5%BFe&limit=x', 'watch'],
    ['watch=FALSE&limit=x', 'list'],
    ['watch=0&labelSelector=(', 'list'],
    ['watch=true&limit=x', 'watch'],
    // Only the first value counts.
    ['watch=false&watch=true', 'list'],
    ['watch=true&watch=false', 'watch'],
    // Escaped keys and values, and '+' as space.
    ['wat%63h=1', 'watch'],
    ['watch=%66alse', 'list'],
    ['watch=+false', 'watch'],
    // Pairs with a ';' or a bad escape are dropped, so a later value becomes the first.
    ['watch=false;x=1&watch=true', 'watch'],
    ['watch=%zz&watch=false', 'list'],
    ['wat%zzch=1', 'list'],
    ['&&watch=1&&', 'watch'],
    ['=1&watch', 'watch'],
    ['watch=1;', 'list'],
    [';watch=1', 'list'],
    ['watchx=1', 'list'],
    ['Watch=1', 'list'],
  ];
  for (const [query, verb] of cases) {
    assert.equal(parseRequestInfo('GET', `/api/v1/pods?${query}`).verb, verb, query);
    assert.equal(parseRequestInfo('HEAD', `/api/v1/pods?${query}`).verb, verb, `HEAD ${query}`);
  }
  // More than 10000 parameters: Go's url.ParseQuery returns nothing at all.
  assert.equal(parseRequestInfo('GET', `/api/v1/pods?watch=1${'&'.repeat(9999)}`).verb, 'watch');
  assert.equal(parseRequestInfo('GET', `/api/v1/pods?watch=1${'&'.repeat(10000)}`).verb, 'list');
});

test('fieldSelector=metadata.name pins the name of a list or watch', () => {
  const cases: [string, string][] = [
    ['fieldSelector=metadata.name=x', 'x'],
    ['fieldSelector=metadata.name%3Dx', 'x'],
    ['fieldSelector=metadata.name==x', 'x'],
    ['fieldSelector=metadata.name!=x', ''],
    ['fieldSelector=metadata.name', ''],
    ['fieldSelector=metadata.name=', ''],
    ['fieldSelector=metadata.namespace=x', ''],
    ['fieldSelector=+metadata.name=x', ''],
    ['fieldSelector=metadata.name=+x', ' x'],
    ['fieldSelector=spec.nodeName=n,metadata.name=x', 'x'],
    ['fieldSelector=metadata.name=x,spec.nodeName=n', 'x'],
    ['fieldSelector=metadata.name=x,,', 'x'],
    ['fieldSelector=,metadata.name=x', 'x'],
    // Go sorts the raw terms and the first metadata.name term wins.
    ['fieldSelector=metadata.name=b,metadata.name=a', 'a'],
    ['fieldSelector=metadata.name=a,metadata.name==b', 'b'],
    ['fieldSelector=metadata.name=%EF%BF%BD,metadata.name=%F0%9F%98%80', '\uFFFD'],
    // Escapes in the value.
    ['fieldSelector=metadata.name=a%5C,b', 'a,b'],
    ['fieldSelector=metadata.name=a%5C%3Db', 'a=b'],
    ['fieldSelector=metadata.name=a%5C%5C', 'a\\'],
    // Selectors that do not parse pin nothing.
    ['fieldSelector=metadata.name=a%5C', ''],
    ['fieldSelector=metadata.name=a%5Cx', ''],
    ['fieldSelector=metadata.name=a=b', ''],
    ['fieldSelector=metadata.name=x,foo', ''],
    ['fieldSelector=metadata.name=x,!', ''],
    // Names that cannot be a path segment are not used.
    ['fieldSelector=metadata.name=.', ''],
    ['fieldSelector=metadata.name=..', ''],
    ['fieldSelector=metadata.name=...', '...'],
    ['fieldSelector=metadata.name=a/b', ''],
    ['fieldSelector=metadata.name=a%25b', ''],
    ['fieldSelector=metadata.name=%C3%A9', 'é'],
    // Only the first fieldSelector counts, and a bad escape drops the pair.
    ['fieldSelector=foo=bar&fieldSelector=metadata.name=x', ''],
    ['fieldSelector=%zz&fieldSelector=metadata.name=x', 'x'],
    ['fieldSelector=metadata.name=x;', ''],
    // Any decoding error in the list options loses the name.
    ['fieldSelector=metadata.name=x&limit=500', 'x'],
    ['fieldSelector=metadata.name=x&limit=-9223372036854775808', 'x'],
    ['fieldSelector=metadata.name=x&limit=%2B0009223372036854775807', 'x'],
    // '+' is a space in a query.
    ['fieldSelector=metadata.name=x&limit=+1', ''],
    ['fieldSelector=metadata.name=x&limit=9223372036854775808', ''],
    ['fieldSelector=metadata.name=x&limit=', ''],
    ['fieldSelector=metadata.name=x&limit=1.5', ''],
    ['fieldSelector=metadata.name=x&limit=1_000', ''],
    ['fieldSelector=metadata.name=x&timeoutSeconds=30', 'x'],
    ['fieldSelector=metadata.name=x&timeoutSeconds=abc', ''],
    ['fieldSelector=metadata.name=x&resourceVersion=abc&resourceVersionMatch=zzz&sendInitialEvents=q', 'x'],
    ['fieldSelector=metadata.name=x&labelSelector=app%3Dweb', 'x'],
    ['fieldSelector=metadata.name=x&labelSelector=app+in+(a,b),!tier,env!=prod', 'x'],
    ['fieldSelector=metadata.name=x&labelSelector=example.com/app=web', 'x'],
    ['fieldSelector=metadata.name=x&labelSelector=x+in+(),y+notin+(,a,)', 'x'],
    ['fieldSelector=metadata.name=x&labelSelector=in+in+(in,notin)', 'x'],
    ['fieldSelector=metadata.name=x&labelSelector=a>10,b<2', 'x'],
    ['fieldSelector=metadata.name=x&labelSelector=', 'x'],
    // Go's label lexer stops at a NUL where a token starts, and swallows one that ends an identifier.
    ['fieldSelector=metadata.name=x&labelSelector=a+%00((', 'x'],
    ['fieldSelector=metadata.name=x&labelSelector=a%00((', ''],
    ['fieldSelector=metadata.name=x&labelSelector=a%00,b', 'x'],
    ['fieldSelector=metadata.name=x&labelSelector=a>-1', ''],
    ['fieldSelector=metadata.name=x&labelSelector=a>b', ''],
    ['fieldSelector=metadata.name=x&labelSelector=app=', 'x'],
    ['fieldSelector=metadata.name=x&labelSelector=app=-web', ''],
    ['fieldSelector=metadata.name=x&labelSelector=Example.com/app', ''],
    ['fieldSelector=metadata.name=x&labelSelector=a/b/c', ''],
    ['fieldSelector=metadata.name=x&labelSelector=a,', ''],
    ['fieldSelector=metadata.name=x&labelSelector=a+b', ''],
    ['fieldSelector=metadata.name=x&labelSelector=!a=b', ''],
    ['fieldSelector=metadata.name=x&labelSelector=a+in+b', ''],
    ['fieldSelector=metadata.name=x&labelSelector=(', ''],
    [`fieldSelector=metadata.name=x&labelSelector=${'a'.repeat(63)}`, 'x'],
    [`fieldSelector=metadata.name=x&labelSelector=${'a'.repeat(64)}`, ''],
  ];
  for (const [query, name] of cases) {
    const info = parseRequestInfo('GET', `/api/v1/namespaces/ns/pods?${query}`);
    assert.equal(info.name, name, query);
    assert.deepEqual([info.verb, info.resource, info.parts], ['list', 'pods', ['pods']], query);
    assert.equal(parseRequestInfo('GET', `/api/v1/pods?watch=1&${query}`).name, name, `watch ${query}`);
  }
  // Named requests, deletecollection and the legacy /watch/ prefix do not read the field selector.
  assert.equal(parseRequestInfo('GET', '/api/v1/pods/p?fieldSelector=metadata.name=x').name, 'p');
  assert.equal(parseRequestInfo('DELETE', '/api/v1/pods?fieldSelector=metadata.name=x').name, '');
  assert.equal(parseRequestInfo('GET', '/api/v1/watch/pods?fieldSelector=metadata.name=x').name, '');
});

test('the path is percent-decoded the way Go decodes URL.Path before it is split', () => {
  const rows: [Row, string][] = [
    [
      ['GET', '/api/v1/namespaces/a%2Fb/pods', 'get', 'api', '', 'v1', 'a', 'b', '', 'pods', ['b', 'pods']],
      '/api/v1/namespaces/a/b/pods',
    ],
    [['GET', '/%61pi/v1/pods', 'list', 'api', '', 'v1', '', 'pods', '', '', ['pods']], '/api/v1/pods'],
    [
      ['GET', '/api/v1/pods/a+b%20c', 'get', 'api', '', 'v1', '', 'pods', '', 'a+b c', ['pods', 'a+b c']],
      '/api/v1/pods/a+b c',
    ],
    [
      ['GET', '/api/v1/pods/%25', 'get', 'api', '', 'v1', '', 'pods', '', '%', ['pods', '%']],
      '/api/v1/pods/%',
    ],
    [
      ['GET', '/api/v1/pods/%C3%A9', 'get', 'api', '', 'v1', '', 'pods', '', 'é', ['pods', 'é']],
      '/api/v1/pods/é',
    ],
    [['GET', '/api/v1/pods/é', 'get', 'api', '', 'v1', '', 'pods', '', 'é', ['pods', 'é']], '/api/v1/pods/é'],
    [
      [
        'GET',
        '/api/v1/pods/%EF%BB%BFx',
        'get',
        'api',
        '',
        'v1',
        '',
        'pods',
        '',
        '\uFEFFx',
        ['pods', '\uFEFFx'],
      ],
      '/api/v1/pods/\uFEFFx',
    ],
    // Invalid UTF-8 becomes U+FFFD.
    [
      [
        'GET',
        '/api/v1/pods/%ff%C3',
        'get',
        'api',
        '',
        'v1',
        '',
        'pods',
        '',
        '\uFFFD\uFFFD',
        ['pods', '\uFFFD\uFFFD'],
      ],
      '/api/v1/pods/\uFFFD\uFFFD',
    ],
    [
      ['GET', '/api/v1/pods/..', 'get', 'api', '', 'v1', '', 'pods', '', '..', ['pods', '..']],
      '/api/v1/pods/..',
    ],
    // A '#' in a request target is not a fragment.
    [
      ['GET', '/api/v1/pods/a#b', 'get', 'api', '', 'v1', '', 'pods', '', 'a#b', ['pods', 'a#b']],
      '/api/v1/pods/a#b',
    ],
    [
      ['GET', '/api/v1/pods/a%3Fb?watch=1', 'get', 'api', '', 'v1', '', 'pods', '', 'a?b', ['pods', 'a?b']],
      '/api/v1/pods/a?b',
    ],
    // Absolute-form targets: the path after the authority counts.
    [
      ['GET', 'http://kube:6443/api/v1/pods?watch=1', 'watch', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
      '/api/v1/pods',
    ],
    [
      ['GET', 'HTTPS://u@kube/api/v1/pods/p', 'get', 'api', '', 'v1', '', 'pods', '', 'p', ['pods', 'p']],
      '/api/v1/pods/p',
    ],
    [
      ['GET', 'x:/api/v1/pods/p', 'get', 'api', '', 'v1', '', 'pods', '', 'p', ['pods', 'p']],
      '/api/v1/pods/p',
    ],
  ];
  for (const [row, path] of rows)
    assert.deepEqual(parseRequestInfo(row[0], row[1]), resource(row, path), row[1]);
  // Without a scheme, "//host" is just part of the path.
  assert.deepEqual(parseRequestInfo('GET', '//kube/api/v1/pods'), nonResource('//kube/api/v1/pods', 'get'));
});

test('targets Go rejects before any handler runs give non-resource info with the raw path', () => {
  const cases: [string, string, string][] = [
    ['GET', '/api/v1/pods/%zz', '/api/v1/pods/%zz'],
    ['GET', '/api/v1/pods/%', '/api/v1/pods/%'],
    ['GET', '/api/v1/pods/%4', '/api/v1/pods/%4'],
    ['GET', '/api/v1/pods/%%41', '/api/v1/pods/%%41'],
    ['GET', '/api/v1/pods?x=%00\u0000', '/api/v1/pods'],
    ['GET', '/api/v1/pods/\u0001', '/api/v1/pods/\u0001'],
    ['GET', '/api/v1/pods/\u007f', '/api/v1/pods/\u007f'],
    ['GET', '/api/v1/pods\t', '/api/v1/pods\t'],
    ['GET', 'api/v1/pods', 'api/v1/pods'],
    ['GET', ':/api/v1/pods', ':/api/v1/pods'],
    ['GET', '', ''],
    ['GET', '?watch=1', ''],
  ];
  for (const [method, url, path] of cases) {
    assert.deepEqual(
      parseRequestInfo(method, url),
      nonResource(path, method.toLowerCase()),
      JSON.stringify(url),
    );
  }
  // Query escapes are not checked up front: only the pair is dropped.
  assert.equal(parseRequestInfo('GET', '/api/v1/pods?x=%zz').isResourceRequest, true);
});

test('scheme-only, opaque and CONNECT targets', () => {
  assert.deepEqual(parseRequestInfo('GET', 'http://kube'), nonResource('', 'get'));
  assert.deepEqual(parseRequestInfo('GET', 'mailto:api/v1/pods'), nonResource('', 'get'));
  // Go's server reads an authority-form CONNECT target as http://target.
  assert.deepEqual(parseRequestInfo('CONNECT', 'kube:443'), nonResource('', 'connect'));
  assert.deepEqual(parseRequestInfo('CONNECT', 'kube:443/api/v1/pods/p').resource, 'pods');
});

test('parts of non-resource requests are empty and frozen; resource parts are fresh arrays', () => {
  const a = parseRequestInfo('GET', '/healthz');
  assert.ok(Object.isFrozen(a.parts));
  const b = parseRequestInfo('GET', '/api/v1/pods/p');
  const c = parseRequestInfo('GET', '/api/v1/pods/p');
  assert.notEqual(b.parts, c.parts);
});

test('isLongRunning matches BasicLongRunningRequestCheck({watch,proxy}, {attach,exec,proxy,log,portforward})', () => {
  const cases: [string, string, boolean][] = [
    ['GET', '/api/v1/pods?watch=1', true],
    ['GET', '/api/v1/watch/pods', true],
    ['GET', '/api/v1/proxy/nodes/n/x', true],
    ['POST', '/api/v1/namespaces/ns/pods/p/exec', true],
    ['GET', '/api/v1/namespaces/ns/pods/p/exec', true],
    ['POST', '/api/v1/namespaces/ns/pods/p/attach', true],
    ['POST', '/api/v1/namespaces/ns/pods/p/portforward', true],
    ['GET', '/api/v1/namespaces/ns/pods/p/log', true],
    ['GET', '/api/v1/namespaces/ns/services/s/proxy/x', true],
    ['GET', '/api/v1/nodes/n/proxy', true],
    ['GET', '/debug/pprof/profile', true],
    ['GET', '/debug/pprof/', true],
    ['GET', '/debug/pprof', false],
    ['GET', '/api/v1/pods', false],
    ['GET', '/api/v1/pods?watch=0', false],
    ['GET', '/api/v1/namespaces/ns/pods/p', false],
    ['GET', '/api/v1/namespaces/ns/pods/p/status', false],
    // "log" as a resource, not a subresource, is not long-running.
    ['GET', '/api/v1/log/x', false],
    ['GET', '/healthz', false],
    ['WATCH', '/healthz', true],
    ['PROXY', '/healthz', true],
  ];
  for (const [method, url, want] of cases) {
    assert.equal(isLongRunning(parseRequestInfo(method, url)), want, `${method} ${url}`);
  }
  const info = { ...nonResource('/x', 'get'), subresource: 'exec' };
  assert.equal(isLongRunning(info), false);
  assert.equal(isLongRunning({ ...info, isResourceRequest: true }), true);
  assert.equal(isLongRunning({ ...nonResource('/debug/pprof/x', 'get'), isResourceRequest: true }), false);
});

test('isReadOnly: get, list and watch, or a non-resource GET/HEAD', () => {
  const cases: [string, string, boolean][] = [
    ['GET', '/api/v1/pods', true],
    ['HEAD', '/api/v1/pods/p', true],
    ['GET', '/api/v1/pods?watch=1', true],
    ['GET', '/api/v1/watch/pods', true],
    ['GET', '/api/v1/namespaces/ns/pods/p/log', true],
    ['GET', '/healthz', true],
    ['HEAD', '/healthz', true],
    ['POST', '/api/v1/pods', false],
    ['PUT', '/api/v1/pods/p', false],
    ['PATCH', '/api/v1/pods/p', false],
    ['DELETE', '/api/v1/pods/p', false],
    ['DELETE', '/api/v1/pods', false],
    ['GET', '/api/v1/proxy/nodes/n', false],
    ['OPTIONS', '/api/v1/pods', false],
    ['POST', '/healthz', false],
    ['OPTIONS', '/healthz', false],
    ['LIST', '/healthz', false],
  ];
  for (const [method, url, want] of cases) {
    assert.equal(isReadOnly(parseRequestInfo(method, url)), want, `${method} ${url}`);
  }
});
