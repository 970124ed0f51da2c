// Every golden case's tables are accepted by the real nft, whole and as the applier's difference
// from the previous case (a namespace of its own, deleted after).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { parse } from 'yaml';
import { Applier, type AppliedTransaction } from '../../../../src/node/nft/apply.ts';
import type { NftTable } from '../../../../src/node/nft/model.ts';
import { createNetns, type TestNetns } from '../netns.ts';

const TESTDATA = new URL('./testdata/', import.meta.url);
let ns: TestNetns;
before(async () => (ns = await createNetns('golden')));
after(async () => ns.delete());

test('nft accepts every golden case, whole and as a difference from the case before', async () => {
  const cases = readdirSync(TESTDATA)
    .filter((f) => f.endsWith('.out.yaml'))
    .sort();
  const txs: AppliedTransaction[] = [];
  const applier = new Applier({
    log: pino({ level: 'silent' }),
    nft: ns.nft,
    driftCheckMs: 0,
    onTransaction: (t) => txs.push(t),
  });
  try {
    for (const file of cases) {
      const out = parse(readFileSync(new URL(file, TESTDATA), 'utf8')) as { tables: NftTable[] };
      await applier.apply({ tables: out.tables });
      assert.equal(
        txs.at(-1)!.kind,
        txs.length === 1 ? 'full' : 'incremental',
        `${file}: ${txs.at(-1)!.reason}`,
      );
    }
    const drift = await applier.checkDrift();
    if (drift.length > 0) throw new Error(`drift after the last case: ${drift.join('; ')}`);
  } finally {
    await applier.close();
  }
});
