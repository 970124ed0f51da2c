import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Speaker } from '../../../../src/node/bgp/index.ts';
import { encodeKeepalive, encodeUpdate, frame } from '../../../../src/node/bgp/message/index.ts';
import { RawPeer } from './raw-peer.ts';

const peer = new RawPeer();
let speaker: Speaker | undefined;
after(async () => {
  await speaker?.stop();
  peer.close();
});

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a bad ORIGIN withdraws the route and keeps the session; a broken attribute list resets it with 3/1', async () => {
  const port = await peer.listen();
  speaker = new Speaker({
    asn: 65001,
    routerId: '10.0.0.1',
    neighbors: [{ peerAddress: '127.0.0.1', port, peerAs: 65002, connectRetrySeconds: 60 }],
  });
  await speaker.start();
  await peer.until(() => peer.types().includes('open'));
  peer.sendOpen(65002, '10.0.0.2');
  peer.socket!.write(encodeKeepalive());
  const ctx = { fourOctetAs: true };
  const announce = encodeUpdate(
    {
      withdrawn: [],
      attributes: { origin: 'igp', asPath: [{ type: 'sequence', asns: [65002] }], nextHop: '127.0.0.1' },
      nlri: ['10.9.0.0/16'],
    },
    ctx,
  );
  peer.socket!.write(announce);
  await until('route learned', () => speaker!.locRib.get('10.9.0.0/16') !== undefined);

  const badOrigin = Buffer.from(announce);
  badOrigin[19 + 4 + 3] = 9; // ORIGIN's value octet
  peer.socket!.write(badOrigin);
  await until('treated as withdrawn', () => speaker!.locRib.get('10.9.0.0/16') === undefined);
  assert.equal(speaker.neighbors()[0].state, 'established');

  // Path attribute length says 4, but the one attribute inside claims 200 octets.
  peer.socket!.write(frame(2, Buffer.from([0, 0, 0, 4, 0x40, 1, 200, 0])));
  await peer.until(() => peer.ended);
  const n = peer.received.at(-1);
  assert.ok(n?.type === 'notification');
  assert.deepEqual([n.code, n.subcode], [3, 1]);
});
