import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BgpMessageError,
  decodeMessage,
  encodeUpdate,
  isDefinedNotification,
  type PathAttributes,
} from '../../../../src/node/bgp/message/index.ts';
import { fuzzRuns, fuzzSeed } from '../../fuzz/corpus.ts';

// Random and mutated UPDATEs: the decoder never throws, and every error it returns is a
// NOTIFICATION the RFCs define. FUZZ_SEED reproduces a run, FUZZ_RUNS sets its size.
const SEED = fuzzSeed() ?? Date.now() % 2 ** 31;
const RUNS = fuzzRuns(4000);

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VALID: PathAttributes[] = [
  {
    origin: 'igp',
    asPath: [{ type: 'sequence', asns: [65001, 4200000000] }],
    nextHop: '10.0.0.1',
    communities: [1, 2],
  },
  {
    origin: 'incomplete',
    asPath: [{ type: 'set', asns: [1, 2, 3] }],
    localPref: 100,
    med: 5,
    largeCommunities: [[1, 2, 3]],
    originatorId: '1.2.3.4',
    clusterList: ['1.1.1.1'],
    mpReach: { family: 'ipv6-unicast', nextHops: ['fd00::1'], nlri: ['fd00:1::/64', 'fd00:2::/48'] },
  },
  { mpUnreach: { family: 'ipv6-unicast', withdrawn: ['fd00:3::/64'] } },
  {
    origin: 'egp',
    asPath: [],
    nextHop: '192.0.2.1',
    atomicAggregate: true,
    aggregator: { asn: 65000, address: '192.0.2.9' },
  },
];

function validUpdate(rnd: () => number): Buffer {
  const attributes = VALID[Math.floor(rnd() * VALID.length)];
  const nlri = attributes.nextHop ? ['10.244.0.0/24', '10.96.0.10/32'] : [];
  return encodeUpdate(
    { withdrawn: rnd() < 0.5 ? ['10.1.0.0/16'] : [], attributes, nlri },
    { fourOctetAs: rnd() < 0.8 },
  );
}

function mutate(buf: Buffer, rnd: () => number): Buffer {
  let b = Buffer.from(buf);
  const edits = 1 + Math.floor(rnd() * 4);
  for (let i = 0; i < edits; i++) {
    const at = 19 + Math.floor(rnd() * Math.max(1, b.length - 19));
    const how = rnd();
    if (how < 0.5) b[at] = Math.floor(rnd() * 256);
    else if (how < 0.7) b[at] ^= 1 << Math.floor(rnd() * 8);
    else if (how < 0.85) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
    else b = Buffer.concat([b.subarray(0, at), Buffer.from([Math.floor(rnd() * 256)]), b.subarray(at)]);
  }
  // Keep the header's length right half of the time, so the body parser is what gets exercised.
  if (rnd() < 0.5 && b.length >= 19 && b.length <= 4096) b.writeUInt16BE(b.length, 16);
  return b;
}

function randomUpdate(rnd: () => number): Buffer {
  const body = Buffer.from(Array.from({ length: 4 + Math.floor(rnd() * 60) }, () => Math.floor(rnd() * 256)));
  if (rnd() < 0.7) body.writeUInt16BE(Math.floor(rnd() * 8), 0);
  const head = Buffer.alloc(19, 0xff);
  head.writeUInt16BE(19 + body.length, 16);
  head[18] = 2;
  return Buffer.concat([head, body]);
}

test(`UPDATE decoder never throws and every error is a defined NOTIFICATION (seed ${SEED}, ${RUNS} runs)`, () => {
  console.log(`bgp message fuzz: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`);
  const rnd = mulberry32(SEED);
  const seen = { ok: 0, withdraw: 0, reset: 0 };
  for (let i = 0; i < RUNS; i++) {
    const input = rnd() < 0.7 ? mutate(validUpdate(rnd), rnd) : randomUpdate(rnd);
    const ctx = { fourOctetAs: rnd() < 0.5 };
    let out;
    try {
      out = decodeMessage(input, ctx);
    } catch (err) {
      assert.fail(`run ${i} threw on ${input.toString('hex')}: ${String(err)}`);
    }
    const errors =
      out instanceof BgpMessageError
        ? [out]
        : out.type === 'update'
          ? [out.treatAsWithdraw, ...(out.discarded ?? [])]
          : [];
    for (const e of errors) {
      if (e === undefined) continue;
      assert.ok(
        isDefinedNotification(e.code, e.subcode),
        `run ${i}: ${e.code}/${e.subcode} on ${input.toString('hex')}`,
      );
      assert.ok(e.data.length <= 4096 - 21);
    }
    if (out instanceof BgpMessageError) seen.reset++;
    else if (out.type === 'update' && out.treatAsWithdraw) seen.withdraw++;
    else seen.ok++;
  }
  console.log(`bgp message fuzz: ${JSON.stringify(seen)}`);
  assert.ok(seen.reset > 0 && seen.withdraw > 0 && seen.ok > 0, 'the inputs reach every outcome');
});
