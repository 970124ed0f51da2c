import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OwnGateway } from './own-gateway.ts';

/** Polls `ok` every 50 ms until it holds; fails the test after `ms`. */
export async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await ok()) return;
    await sleep(50);
  }
  assert.fail(`timed out waiting until ${what}`);
}

/** A sample of the gateway's admin `/metrics` (`name` with its labels), 0 when absent. */
export async function metric(gw: OwnGateway, name: string): Promise<number> {
  const text = await (await fetch(`${gw.adminURL}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** The gateway's shared watches on one side: upstream watches, or the clients they serve. */
export function sharedWatches(gw: OwnGateway, side: 'upstream' | 'client'): Promise<number> {
  return metric(gw, `kubegate_shared_watches{side="${side}"}`);
}
