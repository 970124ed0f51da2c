import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { OwnGateway } from '../own-gateway.ts';
import { assertAudited, assertStatus, credential, marker, rawH1 } from './raw.ts';

// Framing attacks on the HTTP/1.1 side: each request below is malformed on purpose and carries a
// second, smuggled request (as the dev admin, so it would succeed if the gateway parsed it) that
// names the marker. The gateway must answer 400 and close: nothing with the marker may be audited.
const admin = () => credential('admin');
let gw: OwnGateway;
before(async () => {
  gw = await OwnGateway.start({});
});
after(() => gw.stop());

function smuggled(mark: string): string {
  return `GET /api/v1/namespaces/${mark}/secrets HTTP/1.1\r\nHost: localhost\r\nUser-Agent: ${mark}\r\n\r\n`;
}

const CASES: [string, (m: string) => string][] = [
  [
    'Content-Length and Transfer-Encoding together (CL.TE)',
    (m) => {
      const inner = smuggled(m);
      return `POST /api/v1/namespaces/${m}/configmaps HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${inner}`;
    },
  ],
  [
    'Transfer-Encoding and Content-Length together (TE.CL)',
    (m) => {
      const inner = smuggled(m);
      const chunk = `${inner.length.toString(16)}\r\n${inner}\r\n0\r\n\r\n`;
      return `POST /api/v1/namespaces/${m}/configmaps HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n${chunk}`;
    },
  ],
  [
    'two different Content-Length lines',
    (m) =>
      `POST /api/v1/namespaces/${m}/configmaps HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nContent-Length: ${smuggled(m).length}\r\n\r\n${smuggled(m)}`,
  ],
  [
    'an obfuscated Transfer-Encoding (chunked, then identity)',
    (m) =>
      `POST /api/v1/namespaces/${m}/configmaps HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n${smuggled(m)}`,
  ],
  [
    'obs-fold (a header continued on an indented line)',
    (m) =>
      `GET /api/v1/namespaces/${m}/configmaps HTTP/1.1\r\nHost: localhost\r\nX-Folded: a\r\n Transfer-Encoding: chunked\r\nUser-Agent: ${m}\r\n\r\n`,
  ],
  [
    'a bare CR inside a header value (CRLF injection)',
    (m) =>
      `GET /api/v1/namespaces/${m}/configmaps HTTP/1.1\r\nHost: localhost\r\nUser-Agent: ${m}\rImpersonate-User: system:admin\r\n\r\n`,
  ],
  [
    'a bare LF inside a header value (CRLF injection)',
    (m) =>
      `GET /api/v1/namespaces/${m}/configmaps HTTP/1.1\r\nHost: localhost\r\nUser-Agent: ${m}\nImpersonate-User: system:admin\r\n\r\n`,
  ],
  [
    'a NUL byte in a header value',
    (m) =>
      `GET /api/v1/namespaces/${m}/configmaps HTTP/1.1\r\nHost: localhost\r\nUser-Agent: ${m}\u0000x\r\n\r\n`,
  ],
  [
    'whitespace between a header name and the colon',
    (m) =>
      `GET /api/v1/namespaces/${m}/configmaps HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding : chunked\r\nUser-Agent: ${m}\r\n\r\n0\r\n\r\n`,
  ],
  [
    'h2c prior knowledge over TLS negotiated as http/1.1 (PRI * HTTP/2.0)',
    (m) => `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n${smuggled(m)}`,
  ],
];

for (const [name, bytes] of CASES) {
  test(`${name}: 400 BadRequest Status, connection closed, nothing audited`, async () => {
    const mark = marker(`h1-${name.slice(0, 24)}`);
    const r = await rawH1(gw.url, bytes(mark), admin());
    assert.ok(r.closed, 'the gateway closes the connection');
    assertStatus(r, 400, 'BadRequest');
    assert.equal((r.raw.match(/HTTP\/1\.1 \d{3} /g) ?? []).length, 1, `one answer only:\n${r.raw}`);
    await assertAudited(mark, 0);
  });
}

test('a chunk size that is not hex, after a valid head: the create ran as the client only, cut; the smuggled request never', async () => {
  // The head was valid, so the request was already on its way upstream (as the client) when the
  // body turned out malformed: the upstream stream is cut and the apiserver refuses the body.
  const mark = marker('h1-bad-chunk');
  const bytes = `POST /api/v1/namespaces/${mark}/configmaps HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nUser-Agent: ${mark}\r\n\r\nzz\r\n${smuggled(mark)}`;
  const r = await rawH1(gw.url, bytes, admin());
  assert.ok(r.closed, 'the gateway closes the connection');
  assert.equal(r.status, 400, r.raw);
  const events = await assertAudited(mark, 1, ['kubegate-admin']);
  assert.deepEqual(
    events.map((e) => e.verb),
    events.map(() => 'create'),
    'only the create, never the smuggled get',
  );
});
