import { pino } from 'pino';
import type { KubeClient } from '../../src/kube/client.ts';
import { CONTROLLER_NAME } from '../../src/gatewayapi/controller/controller.ts';
import { WATCHED, type WatchedKind } from '../../src/gatewayapi/controller/sources.ts';
import { PortTable } from '../../src/gatewayapi/dataplane/tables.ts';
import { SecureContextCache } from '../../src/gatewayapi/dataplane/tls-contexts.ts';
import { translate, type TranslateInput } from '../../src/gatewayapi/translate/index.ts';
import { median } from './stats.ts';

/** CPU the controller spends per sync before the new table serves, measured in the bench process. */
export interface TranslateTime {
  httpRoutes: number;
  /** `translate` of everything the controller watches (median ms). */
  translateMs: number;
  /** Building the data plane's tables for the IR's ports (median ms), what `DataPlane.apply` does before the swap. */
  tablesMs: number;
  runs: number;
}

/**
 * Lists what the controller watches (the same collections, as the admin) and times `translate` and
 * the table build on them `runs` times, after one untimed run (JIT). The controller runs the same
 * code on the same objects, on a thread that also serves requests.
 */
export async function timeTranslation(
  api: KubeClient,
  addressPool: string,
  runs = 7,
): Promise<TranslateTime> {
  const lists = await Promise.all(
    (Object.entries(WATCHED) as [WatchedKind, string][]).map(async ([kind, path]) => {
      const l = await api.json<{ items: unknown[] }>('GET', path);
      return [kind, l.items] as const;
    }),
  );
  const input = {
    controllerName: CONTROLLER_NAME,
    addressPool,
    ...Object.fromEntries(lists),
  } as unknown as TranslateInput;
  const log = pino({ level: 'silent' });
  const contexts = new SecureContextCache();
  const translateMs: number[] = [];
  const tablesMs: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    const out = translate(input);
    const t1 = performance.now();
    for (const p of out.ir.ports) new PortTable(p, contexts, log);
    const t2 = performance.now();
    if (i === 0) continue;
    translateMs.push(t1 - t0);
    tablesMs.push(t2 - t1);
  }
  return {
    httpRoutes: input.httpRoutes.length,
    translateMs: median(translateMs),
    tablesMs: median(tablesMs),
    runs,
  };
}
