// Runs inside a test's network namespace (libnftables acts on the namespace of the process that
// calls it): reads steps as JSON from argv[2], each either desired tables for an Applier that
// writes through libnftables or a raw script for the library, and prints one JSON result per step.
import { pino } from 'pino';
import { Applier, type AppliedTransaction } from '../../../../../src/node/nft/apply.ts';
import { NftLibrary } from '../../../../../src/node/nft/library.ts';
import type { NftTable } from '../../../../../src/node/nft/model.ts';

export type Step = { readonly apply: NftTable[] } | { readonly run: string };
export interface StepResult {
  readonly ok: boolean;
  readonly error?: string;
  readonly transactions: Pick<AppliedTransaction, 'kind' | 'script'>[];
}

const library = NftLibrary.open(pino({ level: 'silent' }));
if (library === null) throw new Error('libnftables did not load');
const txs: AppliedTransaction[] = [];
const applier = new Applier({
  log: pino({ level: 'silent' }),
  library,
  coalesceMs: 0,
  driftCheckMs: 0,
  onTransaction: (t) => txs.push(t),
});
for (const step of JSON.parse(process.argv[2]!) as Step[]) {
  txs.length = 0;
  let result: StepResult;
  try {
    if ('apply' in step) await applier.apply({ tables: step.apply });
    else await library.run(step.run);
    result = { ok: true, transactions: txs.map((t) => ({ kind: t.kind, script: t.script })) };
  } catch (err) {
    result = {
      ok: false,
      error: (err as Error).message,
      transactions: txs.map((t) => ({ kind: t.kind, script: t.script })),
    };
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}
await applier.close();
await library.close();
