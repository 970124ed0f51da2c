import fc from 'fast-check';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { impersonationHeaders, isFrontProxyHeader, isImpersonationHeader } from '../../../src/auth/index.ts';
import { connectionTokens, isDroppedRequestHeader } from '../../../src/proxy/headers.ts';
import { fuzzRuns, fuzzSeed } from './corpus.ts';

const RUNS = fuzzRuns(20_000);
const CREDENTIAL =
  /^(impersonate-(user|uid|group|extra-.*)|x-remote-(user|uid|group|extra-.*)|authorization)$/s;
const mixCase = (s: string, bits: number) =>
  [...s].map((c, i) => ((bits >>> (i % 31)) & 1 ? c.toUpperCase() : c.toLowerCase())).join('');
const NAME = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('Impersonate-User', 'Impersonate-Uid', 'Impersonate-Group', 'Impersonate-Extra-',
        'X-Remote-User', 'X-Remote-Uid', 'X-Remote-Group', 'X-Remote-Extra-', 'Authorization', 'Connection',
        'Accept', 'Content-Type', 'Te', 'Upgrade'), // prettier-ignore
      fc.oneof(
        fc.constant(''),
        fc.constantFrom('%41', 'scopes', 'a%2Fb', '%zz'),
        fc.string({ maxLength: 8 }),
      ),
      fc.nat(),
    )
    .map(([n, suffix, bits]) => mixCase(n + suffix, bits)),
  fc.string({ maxLength: 24 }),
);
const VALUE = fc.oneof(
  fc.string({ maxLength: 16 }),
  fc.nat({ max: 9000 }).map((n) => 'v'.repeat(n)),
);
const RAW = fc.array(fc.tuple(NAME, VALUE), { maxLength: 12 });
const IDENTITY = fc.record({
  user: fc.string({ minLength: 1, maxLength: 12 }),
  uid: fc.string({ maxLength: 8 }),
  groups: fc.array(fc.string({ maxLength: 10 }), { maxLength: 4 }),
  extra: fc.dictionary(
    fc.string({ minLength: 1, maxLength: 10 }),
    fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
  ),
});

/** The forwarder's header loop (src/proxy/forward.ts #upstreamHeaders) over exported predicates. */
function upstreamHeaders(
  raw: readonly string[],
  gatewayAdded: ReadonlyArray<readonly [string, string]>,
): string[][] {
  const out: string[][] = [];
  const conn: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === 'connection') conn.push(raw[i + 1]);
  const hop = connectionTokens(conn.length ? conn : undefined);
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (isDroppedRequestHeader(name) || hop?.has(name)) continue;
    out.push([name, raw[i + 1], 'client']);
  }
  for (const [k, v] of gatewayAdded) out.push([k, v, 'gateway']);
  return out;
}

test('headers: no client Impersonate-*, X-Remote-* or Authorization line survives to the upstream, in any case mix', () => {
  fc.assert(
    fc.property(RAW, IDENTITY, (pairs, identity) => {
      const raw = pairs.flat();
      const added = impersonationHeaders(identity);
      for (const [name, , who] of upstreamHeaders(raw, added)) {
        if (who === 'client') assert.ok(!CREDENTIAL.test(name), `client header ${name} forwarded`);
      }
      for (const [k] of added) assert.ok(isImpersonationHeader(k), `gateway adds only Impersonate-*: ${k}`);
    }),
    { numRuns: RUNS, seed: fuzzSeed() },
  );
});

test('headers: the predicates never throw and agree with the lowercase name, whatever the bytes', () => {
  fc.assert(
    fc.property(fc.oneof(NAME, fc.string({ maxLength: 40, unit: 'binary' })), (name) => {
      const lower = name.toLowerCase();
      assert.equal(isImpersonationHeader(name), isImpersonationHeader(lower));
      assert.equal(isFrontProxyHeader(name), isFrontProxyHeader(lower));
      if (CREDENTIAL.test(lower)) assert.ok(isDroppedRequestHeader(lower), lower);
      connectionTokens(name);
    }),
    { numRuns: RUNS, seed: fuzzSeed() },
  );
});
