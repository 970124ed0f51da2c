import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import {
  certificatesOf,
  checkCABundle,
  checkKeyPair,
  describeCertificate,
} from '../../../src/config/tls-material.ts';
import { testPKI } from '../helpers/pem-files.ts';

const pem = async (name: string) => {
  const p = await (await testPKI()).issue(name);
  return { cert: await readFile(p.cert, 'utf8'), key: await readFile(p.key, 'utf8') };
};

test('a certificate with its own key passes; with another key, the key file is named as the culprit', async () => {
  const one = await pem('pair-one');
  const two = await pem('pair-two');
  assert.equal(checkKeyPair(one.cert, one.key), null);
  const half = checkKeyPair(two.cert, one.key);
  assert.equal(half?.file, 'key');
  assert.match(half!.message, /private key does not match the certificate \(serial [0-9A-F]+\)/);
  assert.match(half!.message, /last good pair keeps serving/);
});

test('a truncated certificate or key is refused, and the message never quotes the key', async () => {
  const one = await pem('pair-one');
  assert.deepEqual(checkKeyPair(one.cert.slice(0, 100), one.key)?.file, 'cert');
  const cut = checkKeyPair(one.cert, one.key.slice(0, one.key.length / 2));
  assert.equal(cut?.file, 'key');
  const body = one.key.split('\n')[1];
  assert.ok(!cut!.message.includes(body.slice(0, 16)), 'no key bytes in the message');
  assert.equal(checkKeyPair(one.cert, '')?.file, 'key');
});

test('a CA bundle needs at least one certificate, and every one must parse', async () => {
  const pki = await testPKI();
  const ca = await readFile(pki.ca.cert, 'utf8');
  const leaf = (await pem('pair-one')).cert;
  assert.equal(checkCABundle(ca + leaf), null);
  assert.equal(certificatesOf(ca + leaf).length, 2);
  assert.equal(checkCABundle(''), 'no PEM certificate in it');
  assert.equal(checkCABundle('rotated\n'), 'no PEM certificate in it');
  const broken = ca + leaf.replace(/^(-----BEGIN CERTIFICATE-----\n)..../, '$1AAAA');
  assert.match(checkCABundle(broken) ?? '', /certificate 2 of 2 does not parse/);
});

test('a certificate is described by subject, serial, fingerprint and end date (what logs may say)', async () => {
  const one = await pem('pair-one');
  const d = describeCertificate(one.cert);
  assert.equal(d?.subject, 'CN=pair-one');
  assert.match(d!.sha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  assert.match(d!.serial, /^[0-9A-F]+$/);
  assert.ok(d!.notAfter.length > 0);
  assert.equal(describeCertificate('not a certificate'), null);
});
