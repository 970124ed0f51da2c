import { deleteNetns, listNetns } from './netns.ts';
import { ownerState } from './owner.ts';

/**
 * Removes every network namespace named `<prefix>-…` (the lab's and the pods'), killing what still
 * runs inside first (`ip netns pids`): the sweep after a crashed run. Their veths go with them.
 */
export async function destroyLab(prefix: string): Promise<void> {
  if (!/^[a-z0-9]{1,16}$/.test(prefix)) throw new Error(`destroyLab: bad prefix ${JSON.stringify(prefix)}`);
  const mine = (await listNetns()).filter((n) => n.startsWith(`${prefix}-`));
  // Pods and nodes first, the underlay last (any order works; this keeps routes sane meanwhile).
  mine.sort((a, b) => Number(a === `${prefix}-underlay`) - Number(b === `${prefix}-underlay`));
  const errors: unknown[] = [];
  for (const n of mine) await deleteNetns(n).catch((e: unknown) => errors.push(e));
  if (errors.length)
    throw new AggregateError(errors, `destroyLab(${prefix}): ${errors.length} namespace(s) left`);
}

/**
 * Destroys every lab left by a run that is gone: each `<prefix>-underlay` whose recorded owner
 * process (see owner.ts) no longer exists, with all `<prefix>-…` namespaces. Returns the prefixes swept.
 */
export async function sweepLabs(): Promise<string[]> {
  const swept: string[] = [];
  for (const ns of await listNetns()) {
    const m = /^([a-z0-9]{1,16})-underlay$/.exec(ns);
    if (!m || (await ownerState(ns)) !== 'gone') continue;
    await destroyLab(m[1]);
    swept.push(m[1]);
  }
  return swept;
}
