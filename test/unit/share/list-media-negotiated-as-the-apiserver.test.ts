import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listMedia } from '../../../src/share/list-media.ts';

const META_JSON = 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io';
const META_PROTOBUF = 'application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io';
const objects = (accept: string) => ({ accept, form: 'objects', protobuf: false });

test('JSON and protobuf lists of the objects are served from the cache of that Accept', () => {
  assert.deepEqual(listMedia(undefined), objects('application/json'));
  assert.deepEqual(listMedia('application/json'), objects('application/json'));
  assert.deepEqual(listMedia('application/json, */*'), objects('application/json'));
  assert.deepEqual(
    listMedia('application/vnd.kubernetes.protobuf, */*'),
    objects('application/vnd.kubernetes.protobuf, */*'),
  );
  assert.deepEqual(
    listMedia('application/vnd.kubernetes.protobuf,application/json'),
    objects('application/vnd.kubernetes.protobuf, application/json'),
  );
});

test('a PartialObjectMetadataList v1 first is served as metadata, whatever follows it', () => {
  const json = { accept: 'application/json', form: 'metadata', protobuf: false };
  const protobuf = {
    accept: 'application/vnd.kubernetes.protobuf, application/json',
    form: 'metadata',
    protobuf: true,
  };
  assert.deepEqual(listMedia(META_JSON), json);
  assert.deepEqual(listMedia(`${META_JSON}, application/json`), json);
  assert.deepEqual(listMedia('application/json; g=meta.k8s.io; v=v1; as=PartialObjectMetadataList'), json);
  assert.deepEqual(listMedia(META_PROTOBUF), protobuf);
  // What client-go's metadata client sends.
  assert.deepEqual(
    listMedia(
      'application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,' +
        'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json',
    ),
    protobuf,
  );
});

test('a Table anywhere in the Accept is forwarded as a table', () => {
  assert.equal(listMedia('application/json;as=Table;v=v1;g=meta.k8s.io'), 'table');
  assert.equal(
    listMedia(
      'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
    ),
    'table',
  );
  assert.equal(listMedia(`${META_JSON}, application/json;as=Table;v=v1;g=meta.k8s.io`), 'table');
});

test('what the cache does not rebuild, or the apiserver would choose otherwise, is forwarded', () => {
  for (const accept of [
    'application/json;as=PartialObjectMetadataList;v=v1beta1;g=meta.k8s.io', // v1beta1
    'application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io', // not a list: the apiserver's 406
    'application/json;as=Foo;v=v1;g=meta.k8s.io, application/json', // refused, then the next clause
    `${META_JSON};pretty=1`,
    `application/yaml;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io`,
    `*/*;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io`,
    `application/json;q=0.5, ${META_JSON}`, // q-values reorder the clauses
    `${META_JSON};q=0.9`,
    'application/cbor',
    'application/yaml, application/json',
    '*/*',
    'Application/JSON',
    'application/json;pretty=1',
    `${new Array(12).fill('application/json').join(',')},${META_JSON}`,
  ])
    assert.equal(listMedia(accept), 'encoding', accept);
});
