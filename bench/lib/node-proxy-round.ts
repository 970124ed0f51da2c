import { setTimeout as sleep } from 'node:timers/promises';
import { DIRECT_SERVICE, POD_A, POD_B, SCALE_SERVICE, type NodeProxyFixture } from './node-proxy-fixture.ts';
import { countAnswers, sweep, tcpProbe, untilAnswers, untilGone } from './node-proxy-probes.ts';
import { countRules, histogram, presentTables, type RuleCount, type ServiceProxy } from './service-proxy.ts';

// One measurement of one proxy at one number of Services: start it on every node, measure from
// node-1's namespace, stop it and remove its tables.

/** New Services per round whose create → first connection is timed. */
const CREATES = 3;
/** Quiet time between changes: more than kube-proxy's 1 s minimum sync period. */
const QUIET_MS = 1500;
/** Services sampled for reachability. */
const SAMPLE = 50;
/** Connections counted for the distribution over two endpoints. */
export const DISTRIBUTION = 200;

export interface Round {
  proxy: ServiceProxy['name'];
  services: number;
  rep: number;
  /** Proxy started → the last bulk Service answers a TCP connection (first full sync, list included). */
  startToReachableMs: number | null;
  /** The first sync(s) after start: count and seconds, from the proxy's own histogram. */
  firstSyncs: { count: number; seconds: number } | null;
  rules: RuleCount;
  reachable: { sampled: number; answered: number; failed: string[] };
  /** Per new Service: create sent → first TCP connection, and its EndpointSlice seen → connection. */
  createToConnectMs: (number | null)[];
  sliceToConnectMs: (number | null)[];
  /** Syncs while those Services were created: count and mean ms. */
  createSyncs: { count: number; meanMs: number } | null;
  /** bench-b added to bench-scale's endpoints: label PATCH sent → first answer from bench-b; slice seen → it. */
  addPatchToTrafficMs: number | null;
  addSliceToTrafficMs: number | null;
  /** bench-b removed: slice seen → its last answer (then 50 in a row from bench-a). */
  removeSliceToLastMs: number | null;
  /** Syncs of the endpoint changes: count and mean ms. */
  endpointSyncs: { count: number; meanMs: number } | null;
  /** The same two changes written by the bench into bench-direct's slice (no Pod change first). */
  directAddSliceToTrafficMs: number | null;
  directRemoveSliceToLastMs: number | null;
  distribution: Record<string, number>;
  /** Tables found after stop and cleanup (should be none). */
  leftBehind: string[];
}

export interface RoundContext {
  fixture: NodeProxyFixture;
  netns: string;
  allNetns: readonly string[];
  services: number;
  rep: number;
  /** Hands out unused ClusterIPs for probe Services. */
  nextProbeIP: () => string;
}

export async function measureRound(proxy: ServiceProxy, c: RoundContext): Promise<Round> {
  const f = c.fixture;
  const syncs = () => histogram(c.netns, proxy.metricsPort, proxy.syncMetric);
  const delta = async (before: Awaited<ReturnType<typeof syncs>>) => {
    const after = await syncs();
    if (!before || !after || after.count === before.count) return null;
    const count = after.count - before.count;
    return { count, meanMs: round1(((after.sumSeconds - before.sumSeconds) / count) * 1000) };
  };
  const last = f.bulkIPs[c.services - 1]!;
  const startProbe = tcpProbe(c.netns, last, 80, 300_000);
  await startProbe.ready;
  const started = Date.now();
  await proxy.start();
  const reachedAt = await startProbe.at;
  const cleanedBefore = proxy.leftBehind.length;
  let result: Round;
  try {
    await sleep(QUIET_MS);
    const first = await syncs();
    const rules = await countRules(c.netns, proxy.tables);
    const sample = Array.from(
      { length: SAMPLE },
      (_, i) => f.bulkIPs[Math.floor((i * c.services) / SAMPLE)]!,
    );
    const swept = await sweep(c.netns, [...sample, f.scaleIP], 80, 5000);

    const createToConnectMs: (number | null)[] = [];
    const sliceToConnectMs: (number | null)[] = [];
    const created: string[] = [];
    const beforeCreates = await syncs();
    for (let k = 0; k < CREATES; k++) {
      const ip = c.nextProbeIP();
      const name = `probe-${proxy.name === 'kube-proxy' ? 'kp' : 'kg'}-${c.services}-${c.rep}-${k}`;
      const p = tcpProbe(c.netns, ip, 80, 30_000);
      await p.ready;
      const sent = Date.now();
      await f.createService(name, { 'bench-role': 'server' }, ip);
      created.push(name);
      const slice = f.waitSlice(name, (r) => r.size > 0, sent, 30_000).catch(() => null);
      const at = await p.at;
      const sliceAt = await slice;
      createToConnectMs.push(at === null ? null : at - sent);
      sliceToConnectMs.push(at === null || sliceAt === null ? null : at - sliceAt);
      await sleep(QUIET_MS);
    }
    const createSyncs = await delta(beforeCreates);
    for (const name of created) await f.deleteService(name);
    await sleep(QUIET_MS);

    const beforeEndpoints = await syncs();
    const add = untilAnswers(c.netns, f.scaleIP, 80, POD_B, 30_000);
    await add.ready;
    const addSent = await f.scaleB(true);
    const addSlice = await f.waitSlice(SCALE_SERVICE, (r) => r.has(f.podBIP), addSent, 30_000);
    const addAt = await add.at;
    await sleep(QUIET_MS);
    const distribution = await countAnswers(c.netns, f.scaleIP, 80, DISTRIBUTION);
    const remove = untilGone(c.netns, f.scaleIP, 80, POD_B, 50, 30_000);
    await remove.ready;
    await sleep(300);
    const removeSent = await f.scaleB(false);
    const removeSlice = await f.waitSlice(SCALE_SERVICE, (r) => !r.has(f.podBIP), removeSent, 30_000);
    const lastB = await remove.at;
    await sleep(QUIET_MS);
    const endpointSyncs = await delta(beforeEndpoints);

    const directAdd = untilAnswers(c.netns, f.directIP, 80, POD_B, 30_000);
    await directAdd.ready;
    const directAddSlice = await f.waitSlice(
      DIRECT_SERVICE,
      (r) => r.has(f.podBIP),
      await f.directB(true),
      30_000,
    );
    const directAddAt = await directAdd.at;
    await sleep(QUIET_MS);
    const directRemove = untilGone(c.netns, f.directIP, 80, POD_B, 50, 30_000);
    await directRemove.ready;
    await sleep(300);
    const directRemoveSlice = await f.waitSlice(
      DIRECT_SERVICE,
      (r) => !r.has(f.podBIP),
      await f.directB(false),
      30_000,
    );
    const directLastB = await directRemove.at;
    await sleep(QUIET_MS);

    result = {
      proxy: proxy.name,
      services: c.services,
      rep: c.rep,
      startToReachableMs: reachedAt === null ? null : reachedAt - started,
      firstSyncs: first ? { count: first.count, seconds: Number(first.sumSeconds.toFixed(4)) } : null,
      rules,
      reachable: {
        sampled: swept.answered + swept.failed.length,
        answered: swept.answered,
        failed: swept.failed,
      },
      createToConnectMs,
      sliceToConnectMs,
      createSyncs,
      addPatchToTrafficMs: addAt === null ? null : addAt - addSent,
      addSliceToTrafficMs: addAt === null ? null : addAt - addSlice,
      removeSliceToLastMs: lastB === null ? null : lastB - removeSlice,
      endpointSyncs,
      directAddSliceToTrafficMs: directAddAt === null ? null : directAddAt - directAddSlice,
      directRemoveSliceToLastMs: directLastB === null ? null : directLastB - directRemoveSlice,
      distribution: { [POD_A]: 0, [POD_B]: 0, ...distribution },
      leftBehind: [],
    };
  } finally {
    await proxy.stop();
  }
  const left: string[] = [];
  for (const ns of c.allNetns)
    for (const t of await presentTables(ns, proxy.tables)) left.push(`${ns}: ${t}`);
  if (left.length > 0) throw new Error(`${proxy.name} left tables behind: ${left.join(', ')}`);
  result.leftBehind = proxy.leftBehind.slice(cleanedBefore);
  return result;
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
