// One round of the BGP scale benchmark: a fresh router R (gobgpd holding the node prefixes) and
// one subject S (kubegate's Speaker or gobgpd) originating the service /32s over one eBGP session.
// R is passive, so S opens the session; every time is read by polling R's API (and S's count of
// R's prefixes), so the polling costs R, not S.
import { type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { nodePrefixes, ROUTER_IP, servicePrefixes, SUBJECT_IP, type BgpScaleLab } from './bgp-scale-lab.ts';
import { GobgpApi } from './gobgp-api.ts';
import { stopChild } from './haproxy.ts';
import { processUsage } from './process-usage.ts';

export type BgpScaleSubject = 'kubegate' | 'gobgpd';

const SUBJECT_AS = 65001;
const ROUTER_AS = 65002;
const POLL_MS = 10;
const SPEAKER = fileURLToPath(new URL('./bgp-scale-speaker.ts', import.meta.url));

export interface BgpScaleOptions {
  lab: BgpScaleLab;
  dir: string;
  gobgpd: string;
  services: number;
  nodes: number;
  withdraw: number;
  /** Folder for a V8 CPU profile of the kubegate subject (none when left out). */
  cpuProfileDir?: string;
}

/** What one round measured; times in ms, CPU in s (user+system), memory in MiB. */
export interface BgpScaleRound {
  subject: BgpScaleSubject;
  rep: number;
  startToEstablishedMs: number;
  startToConvergedMs: number;
  establishedToConvergedMs: number;
  /** Established → R holds every service /32. */
  routerHasAllMs: number;
  /** Established → S holds every node prefix. */
  subjectHasAllMs: number;
  cpuSeconds: number;
  cpuSecondsAfterEstablished: number;
  peakRssMiB: number;
  withdrawMs: number;
  withdrawCpuSeconds: number;
}

function gobgpdConfig(o: { as: number; id: string; peer: string; peerAs: number; passive: boolean }): string {
  return `
[global.config]
  as = ${o.as}
  router-id = "${o.id}"
  local-address-list = ["${o.id}"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${o.peer}"
    peer-as = ${o.peerAs}
  [neighbors.timers.config]
    connect-retry = 1
  [neighbors.transport.config]
    passive-mode = ${o.passive}
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`bgp-scale: timed out after ${ms} ms: ${what}`);
    await sleep(POLL_MS);
  }
}

function startGobgpd(lab: BgpScaleLab, ns: string, bin: string, dir: string, name: string, config: string) {
  const file = join(dir, `${name}.toml`);
  writeFileSync(file, config);
  const socket = join(dir, `${name}.sock`);
  const child = lab.spawn(ns, bin, ['-f', file, '--api-hosts', `unix://${socket}`, '--pprof-disable']);
  let log = '';
  child.stdout!.on('data', (d) => (log = (log + d).slice(-4000)));
  child.stderr!.on('data', (d) => (log = (log + d).slice(-4000)));
  return { child, api: new GobgpApi(socket), log: () => log };
}

const usage = (pid: number) => {
  const u = processUsage(pid);
  const hwm = /^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuSeconds: u.cpuMicros / 1e6, peakKiB: hwm ? Number(hwm[1]) : u.rssKiB };
};

/** Our Speaker's child process, with the times of its JSON lines. */
function startSpeaker(o: BgpScaleOptions) {
  const args = o.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfileDir] : [];
  const child = o.lab.spawn(o.lab.subject, process.execPath, [
    ...args,
    SPEAKER,
    JSON.stringify({
      asn: SUBJECT_AS,
      routerId: SUBJECT_IP,
      peerAddress: ROUTER_IP,
      peerAs: ROUTER_AS,
      announce: o.services,
      expectReceived: o.nodes,
    }),
  ]);
  const seen = new Map<string, number>();
  createInterface({ input: child.stdout! }).on('line', (l) => {
    const m = JSON.parse(l) as Record<string, unknown>;
    for (const k of Object.keys(m)) if (k !== 'at') seen.set(k, m.at as number);
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  return { child, seen, stderr: () => stderr };
}

/** Runs one round for `subject` and stops everything it started. */
export async function measureBgpScale(
  subject: BgpScaleSubject,
  rep: number,
  o: BgpScaleOptions,
): Promise<BgpScaleRound> {
  const children: ChildProcess[] = [];
  const apis: GobgpApi[] = [];
  const total = o.services + o.nodes;
  try {
    const r = startGobgpd(
      o.lab,
      o.lab.router,
      o.gobgpd,
      o.dir,
      `router-${subject}-${rep}`,
      gobgpdConfig({ as: ROUTER_AS, id: ROUTER_IP, peer: SUBJECT_IP, peerAs: SUBJECT_AS, passive: true }),
    );
    children.push(r.child);
    apis.push(r.api);
    await until('router API', 20_000, () => r.api.globalDestinations());
    await r.api.addPaths(nodePrefixes(o.nodes), ROUTER_IP);
    await until('router holds the node prefixes', 20_000, async () =>
      (await r.api.globalDestinations()) >= o.nodes ? true : undefined,
    );

    const start = Date.now();
    let subjectHasAll: () => Promise<number | undefined>;
    let withdraw: () => Promise<void>;
    let pid: number;
    if (subject === 'kubegate') {
      const s = startSpeaker(o);
      children.push(s.child);
      pid = s.child.pid!;
      subjectHasAll = async () => s.seen.get('received');
      withdraw = async () => {
        s.child.stdin!.write(JSON.stringify({ withdraw: o.withdraw }) + '\n');
      };
      s.child.once('exit', (code) => {
        if (code) console.error(`bgp-scale: speaker exited ${code}: ${s.stderr()}`);
      });
    } else {
      const s = startGobgpd(
        o.lab,
        o.lab.subject,
        o.gobgpd,
        o.dir,
        `subject-${rep}`,
        gobgpdConfig({ as: SUBJECT_AS, id: SUBJECT_IP, peer: ROUTER_IP, peerAs: ROUTER_AS, passive: false }),
      );
      children.push(s.child);
      apis.push(s.api);
      pid = s.child.pid!;
      let injected = false;
      // Originating through the API as soon as it answers: gobgpd's first connect waits 1.5–2 s
      // (its minimum connect-retry), so the routes are in its RIB before the session is up.
      void until('subject API', 20_000, () => s.api.globalDestinations())
        .then(() => s.api.addPaths(servicePrefixes(o.services), SUBJECT_IP))
        .then(() => (injected = true))
        .catch((err: Error) => console.error(`bgp-scale: gobgpd subject: ${err.message}\n${s.log()}`));
      subjectHasAll = async () =>
        injected && (await s.api.globalDestinations()) >= total ? Date.now() : undefined;
      withdraw = () => s.api.addPaths(servicePrefixes(o.services).slice(0, o.withdraw), SUBJECT_IP, true);
    }

    let established = 0;
    let cpuAtEstablished = 0;
    let routerAll = 0;
    let subjectAll = 0;
    const converged = await until(`${subject} converged`, 120_000, async () => {
      if (!established && (await r.api.established(SUBJECT_IP))) {
        established = Date.now();
        cpuAtEstablished = usage(pid).cpuSeconds;
      }
      if (!routerAll && (await r.api.globalDestinations()) >= total) routerAll = Date.now();
      if (!subjectAll) subjectAll = (await subjectHasAll()) ?? 0;
      return routerAll && subjectAll && established ? { at: Date.now(), ...usage(pid) } : undefined;
    });
    const convergedAt = Math.max(routerAll, subjectAll);

    const before = usage(pid).cpuSeconds;
    const withdrawStart = Date.now();
    await withdraw();
    await until(`${subject} withdrawal seen by the router`, 60_000, async () =>
      (await r.api.globalDestinations()) <= total - o.withdraw ? true : undefined,
    );
    const withdrawMs = Date.now() - withdrawStart;
    const withdrawCpu = usage(pid).cpuSeconds - before;

    return {
      subject,
      rep,
      startToEstablishedMs: established - start,
      startToConvergedMs: convergedAt - start,
      establishedToConvergedMs: convergedAt - established,
      routerHasAllMs: routerAll - established,
      subjectHasAllMs: subjectAll - established,
      cpuSeconds: round3(converged.cpuSeconds),
      cpuSecondsAfterEstablished: round3(converged.cpuSeconds - cpuAtEstablished),
      peakRssMiB: Math.round((converged.peakKiB / 1024) * 10) / 10,
      withdrawMs,
      withdrawCpuSeconds: round3(withdrawCpu),
    };
  } finally {
    for (const a of apis) a.close();
    const subjectChild = children[1];
    if (subject === 'kubegate' && subjectChild && subjectChild.exitCode === null) {
      // A clean exit, so --cpu-prof writes its profile.
      subjectChild.stdin!.write(JSON.stringify({ stop: true }) + '\n');
      await Promise.race([new Promise((res) => subjectChild.once('exit', res)), sleep(3000)]);
    }
    for (const c of children.reverse()) await stopChild(c, 3000);
  }
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;
