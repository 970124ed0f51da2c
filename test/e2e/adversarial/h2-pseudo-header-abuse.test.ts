import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { OwnGateway } from '../own-gateway.ts';
import { viewerServiceAccount } from '../users.ts';
import {
  assertAudited,
  credential,
  frame,
  H2,
  h2ErrorCode,
  h2Status,
  hpack,
  marker,
  PREFACE,
  rawH2,
  type TLSOptions,
} from './raw.ts';

// HTTP/2 requests written frame by frame (node's client refuses to send these). A malformed
// header block (RFC 9113 §8.1.1, §8.2, §8.3) is a stream error: RST_STREAM(PROTOCOL_ERROR) from
// nghttp2 before any handler of the gateway runs, and the session stays usable.
const PROTOCOL_ERROR = 1;
const id = process.pid;
const ns = `adv-h2-${id}`;
let gw: OwnGateway;
let token = '';

before(async () => {
  gw = await OwnGateway.start({});
  token = await viewerServiceAccount(ns, 'robot', `adv-h2-nobody-${id}`);
});
after(() => gw.stop());

const base = (path: string): [string, string][] => [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':authority', 'localhost'],
  [':path', path],
];

/**
 * Sends one HEADERS frame (END_STREAM | END_HEADERS) on stream 1, then (unless `alone`) a good
 * request on stream 3. (h2Status reads static-table statuses only: with two streams answered
 * the same status, the second may come as a dynamic-table index.)
 */
async function send(fields: [string, string][], tls: TLSOptions = credential('admin'), alone = false) {
  const ok = hpack(base(`/api/v1/namespaces/${ns}/configmaps`));
  const frames = [frame(H2.HEADERS, 0x5, 1, hpack(fields))];
  if (!alone) frames.push(frame(H2.HEADERS, 0x5, 3, ok));
  const r = await rawH2(gw.url, frames, { ...tls, untilStreams: alone ? [1] : [1, 3] });
  const on = (s: number) =>
    r.frames.filter((f) => f.stream === s && (f.type === H2.HEADERS || f.type === H2.RST_STREAM));
  return { first: on(1), second: on(3), goaway: r.frames.find((f) => f.type === H2.GOAWAY) };
}

const MALFORMED: [string, (m: string) => [string, string][]][] = [
  ['a second :path', (m) => [...base(`/api/v1/namespaces/${m}/configmaps`), [':path', `/api/v1/namespaces/${m}/secrets`]]],
  ['a pseudo-header after a regular one', (m) => [[':method', 'GET'], [':scheme', 'https'], ['user-agent', m], [':authority', 'localhost'], [':path', `/api/v1/namespaces/${m}/secrets`]]],
  ['an unknown pseudo-header', (m) => [...base(`/api/v1/namespaces/${m}/secrets`), [':user', 'system:admin']]],
  ['no :path', () => base('/').slice(0, 3)],
  ['an empty :path', () => base('')],
  ['an absolute-form :path', (m) => base(`https://elsewhere.example/api/v1/namespaces/${m}/secrets`)],
  ['an asterisk :path on GET', () => base('*')],
  ['CONNECT with :path and no :protocol', (m) => [[':method', 'CONNECT'], [':authority', 'localhost'], [':path', `/api/v1/namespaces/${m}/pods/p/exec`]]],
  ['an uppercase header name', (m) => [...base(`/api/v1/namespaces/${m}/secrets`), ['Impersonate-User', 'system:admin']]],
  ['a connection-specific header (connection)', (m) => [...base(`/api/v1/namespaces/${m}/secrets`), ['connection', 'close']]],
  ['a connection-specific header (transfer-encoding)', (m) => [...base(`/api/v1/namespaces/${m}/secrets`), ['transfer-encoding', 'chunked']]],
  ['te other than trailers', (m) => [...base(`/api/v1/namespaces/${m}/secrets`), ['te', 'gzip']]],
]; // prettier-ignore

for (const [name, fields] of MALFORMED) {
  test(`HTTP/2 ${name}: RST_STREAM(PROTOCOL_ERROR), the session goes on, nothing audited`, async () => {
    const mark = marker(`h2-${name.slice(0, 20)}`);
    const r = await send(fields(mark), credential('admin'));
    assert.equal(r.first.length, 1);
    assert.equal(r.first[0].type, H2.RST_STREAM, 'no response HEADERS on the malformed stream');
    assert.equal(h2ErrorCode(r.first[0]), PROTOCOL_ERROR);
    assert.equal(r.goaway, undefined);
    assert.equal(h2Status(r.second[0].payload), 200, 'the next stream is served');
    await assertAudited(mark, 0);
  });
}

for (const [name, value] of [
  ['CR LF', '\r\nimpersonate-user: system:admin'],
  ['a bare LF', '\nimpersonate-user: system:admin'],
  ['a NUL', '\u0000'],
] as const) {
  test(`HTTP/2 header value with ${name}: the field is dropped (nghttp2), never forwarded; the request runs as the client`, async () => {
    const mark = marker(`h2-value-${name}`);
    const r = await send(
      [...base(`/api/v1/namespaces/${mark}/configmaps`), ['user-agent', `${mark}${value}`]],
      credential('admin'),
    );
    assert.equal(h2Status(r.first[0].payload), 200);
    const events = await assertAudited(mark, 1, ['kubegate-admin']);
    assert.ok(
      events.every((e) => e.userAgent === undefined),
      'the apiserver saw no user-agent at all',
    );
  });
}

test('HTTP/2 duplicated authorization: only the first counts (garbage first → 401, valid first → the service account)', async () => {
  const bad = marker('h2-dup-auth-bad');
  const r1 = await send([...base(`/api/v1/namespaces/${ns}/configmaps?labelSelector=${bad}`), ['authorization', 'Bearer not-a-token'], ['authorization', `Bearer ${token}`]], {}, true);
  assert.equal(h2Status(r1.first[0].payload), 401);
  const good = marker('h2-dup-auth-good');
  const r2 = await send([...base(`/api/v1/namespaces/${ns}/configmaps?labelSelector=${good}`), ['authorization', `Bearer ${token}`], ['authorization', 'Bearer not-a-token']], {}, true);
  assert.equal(h2Status(r2.first[0].payload), 200);
  await assertAudited(bad, 0);
  await assertAudited(good, 1, [`system:serviceaccount:${ns}:robot`]);
}); // prettier-ignore

test('h2c prior knowledge on the TLS port (no TLS at all): closed without an HTTP answer', async () => {
  const u = new URL(gw.url);
  const got = await new Promise<{ data: Buffer; closed: boolean }>((resolve) => {
    const chunks: Buffer[] = [];
    const s = connect(Number(u.port), u.hostname, () =>
      s.write(Buffer.concat([PREFACE, frame(H2.SETTINGS, 0, 0)])),
    );
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ data: Buffer.concat(chunks), closed: false });
    }, 5_000);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks), closed: true });
    });
  });
  assert.ok(got.closed, 'the gateway closes the connection');
  // At most a TLS alert record (content type 21), never HTTP/1 text or an HTTP/2 frame.
  assert.ok(got.data.length === 0 || got.data[0] === 21, `unexpected bytes: ${got.data.toString('hex')}`);
});
