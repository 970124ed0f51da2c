import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One prerequisite of the data path and whether it holds in this network namespace. */
export interface Prerequisite {
  readonly name: 'ip_forward' | 'ipv6_forwarding' | 'bridge-nf-call-iptables' | 'hairpin' | 'nft';
  readonly ok: boolean;
  /** What was found (a sysctl value, the ports without hairpin, nft's version). */
  readonly detail: string;
  /** Whether this check set it (with `--fix-prerequisites`). */
  readonly fixed?: boolean;
}

const SYSCTLS = [
  { name: 'ip_forward', path: '/proc/sys/net/ipv4/ip_forward' },
  { name: 'ipv6_forwarding', path: '/proc/sys/net/ipv6/conf/all/forwarding' },
  // Without it, traffic between two pods on one bridge never reaches the inet forward hook: every
  // NetworkPolicy and the ClusterIP DNAT of same-node traffic is silently bypassed.
  { name: 'bridge-nf-call-iptables', path: '/proc/sys/net/bridge/bridge-nf-call-iptables' },
] as const;

async function sysctl(path: string, fix: boolean): Promise<{ ok: boolean; detail: string; fixed?: boolean }> {
  let value: string;
  try {
    value = (await readFile(path, 'utf8')).trim();
  } catch {
    if (path.includes('/bridge/') && fix) {
      await run('modprobe', ['br_netfilter']).catch(() => {});
      try {
        value = (await readFile(path, 'utf8')).trim();
      } catch {
        return { ok: false, detail: `${path} is missing (br_netfilter not loaded)` };
      }
    } else return { ok: false, detail: `${path} is missing` };
  }
  if (value === '1') return { ok: true, detail: `${path} = 1` };
  if (!fix) return { ok: false, detail: `${path} = ${value}` };
  try {
    await writeFile(path, '1\n');
    return { ok: true, detail: `${path} = 1 (was ${value})`, fixed: true };
  } catch (err) {
    return { ok: false, detail: `${path} = ${value}; setting it failed: ${(err as Error).message}` };
  }
}

interface BridgeLink {
  ifname: string;
  master?: string;
  flags?: string[];
  hairpin?: boolean;
}

/**
 * Hairpin on every port of a bridge (a pod reaching itself through its Service leaves and re-enters
 * by the same port). Pods come and go, so the agent runs this after syncs too.
 */
export async function hairpin(fix: boolean): Promise<Prerequisite> {
  let links: BridgeLink[];
  try {
    const { stdout } = await run('bridge', ['-j', '-d', 'link', 'show'], { timeout: 10_000 });
    links = stdout.trim() === '' ? [] : (JSON.parse(stdout) as BridgeLink[]);
  } catch (err) {
    return { name: 'hairpin', ok: false, detail: `bridge link show failed: ${(err as Error).message}` };
  }
  const off = links.filter((l) => l.master !== undefined && l.hairpin !== true).map((l) => l.ifname);
  if (off.length === 0)
    return { name: 'hairpin', ok: true, detail: `${links.length} bridge ports with hairpin on` };
  if (!fix) return { name: 'hairpin', ok: false, detail: `hairpin off on ${off.join(', ')}` };
  const failed: string[] = [];
  for (const dev of off)
    await run('bridge', ['link', 'set', 'dev', dev, 'hairpin', 'on'], { timeout: 10_000 }).catch(() =>
      failed.push(dev),
    );
  if (failed.length > 0)
    return { name: 'hairpin', ok: false, detail: `could not set hairpin on ${failed.join(', ')}` };
  return { name: 'hairpin', ok: true, detail: `hairpin set on ${off.join(', ')}`, fixed: true };
}

/** nft's version: 1.0 or later is needed (typeof maps, concatenated dnat maps). */
export async function nftVersion(): Promise<Prerequisite> {
  try {
    const { stdout } = await run('nft', ['--version'], { timeout: 10_000 });
    const m = /v(\d+)\.(\d+)\.(\d+)/.exec(stdout);
    const ok = m !== null && Number(m[1]) >= 1;
    return { name: 'nft', ok, detail: stdout.trim() + (ok ? '' : ' (1.0 or later needed)') };
  } catch (err) {
    return { name: 'nft', ok: false, detail: `nft not runnable: ${(err as Error).message}` };
  }
}

/** Checks (and with `fix`, sets) every prerequisite of the node's data path. */
export async function checkPrerequisites(fix: boolean): Promise<Prerequisite[]> {
  const out: Prerequisite[] = [];
  for (const s of SYSCTLS) out.push({ name: s.name, ...(await sysctl(s.path, fix)) });
  out.push(await hairpin(fix));
  out.push(await nftVersion());
  return out;
}
