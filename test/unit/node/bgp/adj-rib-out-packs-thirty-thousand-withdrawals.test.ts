import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessage } from '../../../../src/node/bgp/message/index.ts';
import { AdjRibOut, type Route } from '../../../../src/node/bgp/rib/index.ts';

const CTX = { fourOctetAs: true };
const N = 30_000;
const prefixes = Array.from({ length: N }, (_, i) => `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`);

const local = (prefix: string): Route => ({
  prefix,
  family: 'ipv4-unicast',
  nextHop: '',
  attributes: { origin: 'igp', asPath: [] },
  source: { kind: 'local' },
});

function withdrawn(messages: readonly Buffer[]): string[] {
  return messages.flatMap((m) => {
    const u = decodeMessage(m, CTX);
    assert.ok(!(u instanceof Error) && u.type === 'update');
    return u.withdrawn;
  });
}

// The withdrawals of one batch were gathered by copying the list per prefix: 10,000 took half a
// second and 30,000 over a minute with the event loop blocked, past any hold timer. How long it
// takes is the bgp-scale benchmark's to measure; this checks what goes out.
test('withdrawing 30,000 announced prefixes at once withdraws each once, packed into full UPDATEs', () => {
  const out = new AdjRibOut(['ipv4-unicast'], CTX, { ipv4: '10.0.0.1' });
  out.update(prefixes.map((p) => [p, local(p)] as const));
  assert.equal(out.size, N);

  const messages = out.update(prefixes.map((p) => [p, undefined] as const));
  assert.equal(out.size, 0);
  assert.deepEqual(withdrawn(messages), prefixes);
  // 5 octets a /32 in 4,096-octet UPDATEs.
  assert.ok(messages.length <= Math.ceil((N * 5) / 4000), `${messages.length} UPDATEs`);
});
