import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { SPDY_DICTIONARY } from '../../../../../src/dev/podlet/spdy/dictionary.ts';
import {
  FrameParser, FrameType, dataFrame, goAwayFrame, pingFrame, settingsFrame, windowUpdateFrame, type RawFrame,
} from '../../../../../src/dev/podlet/spdy/frames.ts'; // prettier-ignore
import { decodeHeaderBlock, encodeHeaderBlock } from '../../../../../src/dev/podlet/spdy/header-block.ts';

test('the header dictionary is the 1423 bytes of SPDY/3 §2.6.10.1', () => {
  assert.equal(SPDY_DICTIONARY.length, 1423);
  assert.equal(
    createHash('sha256').update(SPDY_DICTIONARY).digest('hex'),
    '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02',
  );
});

test('a byte stream of frames parses the same whether it arrives whole or one byte at a time', () => {
  const payload = randomBytes(70_000);
  const wire = Buffer.concat([
    settingsFrame([[7, 65536]]),
    pingFrame(1),
    dataFrame(3, 0, payload),
    dataFrame(3, 1, Buffer.alloc(0)),
    windowUpdateFrame(0, 1234),
    goAwayFrame(5, 0),
  ]);
  const summary = (frames: RawFrame[]) =>
    frames.map((f) =>
      f.control ? `c${f.type}:${f.payload.toString('hex')}` : `d${f.streamId}:${f.flags}:${f.data.length}`,
    );
  const whole = new FrameParser().push(wire);
  const parser = new FrameParser();
  const bytewise: RawFrame[] = [];
  for (let i = 0; i < wire.length; i++) bytewise.push(...parser.push(wire.subarray(i, i + 1)));
  assert.deepEqual(summary(bytewise), summary(whole));
  assert.equal(whole.length, 6);
  assert.equal(whole[0].control && whole[0].type, FrameType.Settings);
  assert.ok(!whole[2].control && whole[2].data.equals(payload));
});

test('header blocks lower-case names and round-trip values', () => {
  const block = encodeHeaderBlock({ StreamType: 'error', port: '8080', requestID: '0' });
  assert.deepEqual(decodeHeaderBlock(block), { streamtype: 'error', port: '8080', requestid: '0' });
});
