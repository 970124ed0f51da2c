import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endEvent, parseResourceVersion, type WatchEvent } from '../../../src/share/event.ts';
import { EventWindow } from '../../../src/share/window.ts';

const ev = (rv: number, kind: WatchEvent['kind'] = 'event', size = 10): WatchEvent => ({
  kind,
  rv: BigInt(rv),
  bytes: Buffer.alloc(size),
});

test('a client at or above the floor starts at the first event above its resourceVersion', () => {
  const w = new EventWindow({ maxEvents: 10, maxBytes: 1000 }, 100n);
  for (const rv of [101, 105, 110]) w.push(ev(rv));
  assert.equal(w.startAfter(100n), 0);
  assert.equal(w.startAfter(101n), 1);
  assert.equal(w.startAfter(104n), 1);
  assert.equal(w.startAfter(105n), 2);
  assert.equal(w.startAfter(110n), 3, 'level with the stream: waits for the next event');
  assert.equal(w.startAfter(999n), 3);
  assert.equal(w.startAfter(99n), null, 'below the floor: events it needs were never held');
});

test('evicting the oldest events raises the floor to the last evicted resourceVersion', () => {
  const w = new EventWindow({ maxEvents: 3, maxBytes: 1000 }, 100n);
  for (const rv of [101, 102, 103, 104, 105]) w.push(ev(rv));
  assert.equal(w.size, 3);
  assert.equal(w.firstSeq, 2);
  assert.equal(w.nextSeq, 5);
  assert.equal(w.floor, 102n);
  assert.equal(w.startAfter(101n), null);
  assert.equal(w.startAfter(102n), 2);
  assert.equal(w.at(1), undefined);
  assert.equal(w.at(2)?.rv, 103n);
});

test('the byte bound evicts too, but always keeps the newest event', () => {
  const w = new EventWindow({ maxEvents: 100, maxBytes: 25 }, 0n);
  w.push(ev(1, 'event', 10));
  w.push(ev(2, 'event', 10));
  assert.equal(w.size, 2);
  w.push(ev(3, 'event', 10));
  assert.equal(w.size, 2);
  assert.equal(w.bytes, 20);
  w.push(ev(4, 'event', 100));
  assert.equal(w.size, 1, 'a frame larger than the bound is still held alone');
  assert.equal(w.floor, 3n);
});

test('terminal frames stay after every event whatever their resourceVersion', () => {
  const w = new EventWindow({ maxEvents: 10, maxBytes: 1000 }, 100n);
  w.push(ev(101));
  w.push(ev(102, 'bookmark'));
  w.push(endEvent(102n));
  assert.equal(w.startAfter(102n), 2, 'a client level with the stream still reaches the end');
  assert.equal(w.startAfter(200n), 2);
});

test('only positive decimal resourceVersions up to uint64 are orderable', () => {
  assert.equal(parseResourceVersion('12345'), 12345n);
  assert.equal(parseResourceVersion('18446744073709551615'), 18446744073709551615n);
  for (const bad of ['', '0', '01', '-1', '1e3', ' 1', 'abc', '18446744073709551616', undefined, null])
    assert.equal(parseResourceVersion(bad), null, String(bad));
});
