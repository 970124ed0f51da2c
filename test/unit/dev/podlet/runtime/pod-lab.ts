import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, destroyLab, listNetns, type Lab } from '../../../../../src/dev/lab/index.ts';
import { PodIPAM, createPodSandbox, connectInNetns } from '../../../../../src/dev/podlet/runtime/index.ts';
import type { PodSandbox } from '../../../../../src/dev/podlet/types.ts';
import type { Duplex } from 'node:stream';

export const root = process.getuid?.() === 0;

/** A two-node lab with one pod sandbox on each node, and a temp folder; torn down by `close`. */
export interface PodLab {
  readonly prefix: string;
  readonly lab: Lab;
  readonly pods: readonly PodSandbox[];
  readonly dir: string;
  close(): Promise<void>;
}

export async function podLab(tag: string): Promise<PodLab> {
  const prefix = `kgt${tag}${process.pid.toString(36)}`;
  const lab = await createLab({ prefix, nodes: ['n1', 'n2'] });
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const pods: PodSandbox[] = [];
  for (const [i, node] of lab.nodes.entries()) {
    const cidr = `10.244.${i}.0/24`;
    await lab.setPodCIDR(node.name, cidr);
    const ipam = new PodIPAM(cidr);
    pods.push(
      await createPodSandbox({
        nodeNetns: node.netns,
        bridge: node.bridge,
        netns: `${node.netns}-pod`,
        ip: ipam.allocate('pod')!,
        prefixLength: ipam.prefixLength,
        gateway: ipam.gateway,
        release: () => ipam.release('pod'),
      }),
    );
  }
  return {
    prefix,
    lab,
    pods,
    dir,
    async close() {
      for (const p of pods) await p.destroy();
      await lab.destroy();
      await destroyLab(prefix);
      rmSync(dir, { recursive: true, force: true });
      assert.deepEqual(
        (await listNetns()).filter((n) => n.startsWith(`${prefix}-`)),
        [],
        'namespaces left',
      );
    },
  };
}

/** Connects, retrying while the server is not listening yet. */
export async function connectRetry(netns: string, host: string, port: number, ms = 10_000): Promise<Duplex> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await connectInNetns(netns, host, port);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ECONNREFUSED' || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Everything a readable yields until its end, as one buffer. Event-based on purpose: a `for await`
 * loop destroys the stream when it ends, which would tear down a half-closed connection.
 */
export function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
  });
}
