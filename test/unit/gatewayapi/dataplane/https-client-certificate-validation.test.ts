import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { createCA, issueCert, loadCert } from '../../../../src/dev/pki.ts';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import type { ClientValidationIR, DataPlaneIR, PortIR } from '../../../../src/gatewayapi/ir.ts';
import { backend, cluster, freePort, route, silent, startEcho, vhost, type Echo } from './helpers.ts';

type Pem = { cert: string; key: string };

let dir = '';
let serverCA = '';
let clientCA = '';
let otherCA = '';
let good: Pem;
let stranger: Pem;
/** A CA, and a certificate from another CA of the same name (its signature does not verify). */
let sameName: { ca: string; impostor: Pem };
let serving: Pem;
let plane: DataPlane;
let echo: Echo;
let port = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-gwapi-mtls-'));
  const [sCA, cCA, oCA] = await Promise.all([
    createCA(dir, 'server-ca', 'server-ca'),
    createCA(dir, 'client-ca', 'client-ca'),
    createCA(dir, 'other-ca', 'other-ca'),
  ]);
  const [s, c, o] = await Promise.all([
    issueCert(dir, 'server', sCA, {
      cn: 'gw.example',
      usage: 'server',
      dns: ['gw.example'],
      ips: ['127.0.0.1'],
    }),
    issueCert(dir, 'client', cCA, { cn: 'client', usage: 'client' }),
    issueCert(dir, 'stranger', oCA, { cn: 'stranger', usage: 'client' }),
  ]);
  [serverCA, clientCA, otherCA] = await Promise.all(
    [sCA, cCA, oCA].map(async (f) => (await loadCert(f)).cert),
  );
  [serving, good, stranger] = await Promise.all([loadCert(s), loadCert(c), loadCert(o)]);
  sameName = await sameNameCAs(dir);
  echo = await startEcho('echo');
  port = await freePort();
  plane = new DataPlane({ log: silent });
});

after(async () => {
  await plane.close();
  await echo.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * Two RSA CAs of one name, and a client certificate from the second without an authority key
 * identifier: verified against the first, OpenSSL finds it by name and the signature check fails
 * (as with the conformance suite's certificates, whose CAs all share one name).
 */
async function sameNameCAs(dir: string): Promise<{ ca: string; impostor: Pem }> {
  const openssl = (...args: string[]) => promisify(execFile)('openssl', args, { cwd: dir });
  const newCA = (name: string) =>
    openssl(
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=same-name'],
      ...['-keyout', `${name}.key`, '-out', `${name}.crt`],
      ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=keyCertSign'],
    );
  await Promise.all([newCA('same-name-ca'), newCA('impostor-ca')]);
  await openssl(
    ...['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=impostor'],
    ...['-keyout', 'impostor.key', '-out', 'impostor.csr'],
  );
  const ext = 'extendedKeyUsage=clientAuth\nauthorityKeyIdentifier=none\nsubjectKeyIdentifier=none\n';
  await writeFile(join(dir, 'impostor.ext'), ext);
  await openssl(
    ...['x509', '-req', '-days', '2', '-in', 'impostor.csr', '-extfile', 'impostor.ext'],
    ...['-CA', 'impostor-ca.crt', '-CAkey', 'impostor-ca.key', '-out', 'impostor.crt'],
  );
  const read = (name: string) => readFile(join(dir, name), 'utf8');
  return {
    ca: await read('same-name-ca.crt'),
    impostor: { cert: await read('impostor.crt'), key: await read('impostor.key') },
  };
}

function ir(clientValidation: ClientValidationIR | null, hostname: string | null): DataPlaneIR {
  const p: PortIR = {
    gateway: 'default/mtls',
    address: '127.0.0.1',
    port,
    protocol: 'HTTPS',
    listeners: [
      {
        name: 'https',
        hostname,
        tls: { certificates: [serving] },
        virtualHosts: [vhost('*', [route('r', { backends: [backend('echo')] })])],
      },
    ],
    ...(clientValidation === null ? {} : { clientValidation }),
  };
  return { ports: [p], clusters: { echo: cluster('echo', [echo.port]) } };
}

/** The status, or the error's code when the connection fails. */
function get(client: Pem | null, servername = 'gw.example'): Promise<number | string> {
  const options: RequestOptions = {
    host: '127.0.0.1',
    port,
    path: '/',
    ca: serverCA,
    servername,
    headers: { host: 'gw.example' },
    agent: false,
    ...(client ?? {}),
  };
  return new Promise((resolve) => {
    const req = request(options, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (err: Error & { code?: string }) => resolve(err.code ?? err.message));
    req.end();
  });
}

async function apply(d: DataPlaneIR): Promise<void> {
  const { failed } = await plane.apply(d);
  assert.deepEqual(failed, []);
}

test('AllowValidOnly lets in a client certificate from the CA and refuses a stranger or none', async () => {
  await apply(ir({ ca: clientCA, mode: 'AllowValidOnly' }, 'gw.example'));
  assert.equal(await get(good), 200);
  assert.notEqual(await get(stranger), 200);
  assert.notEqual(await get(null), 200);
  assert.equal(await get(good), 200);
  // Without SNI the default context checks the same CA.
  assert.equal(await get(good, ''), 200);
  assert.notEqual(await get(stranger, ''), 200);
});

test('a CA bundle of several certificates trusts each of them', async () => {
  await apply(ir({ ca: `${otherCA}\n${clientCA}`, mode: 'AllowValidOnly' }, null));
  assert.equal(await get(good), 200);
  assert.equal(await get(stranger), 200);
});

test('AllowInsecureFallback asks for a certificate but lets every client in', async () => {
  await apply(ir({ ca: clientCA, mode: 'AllowInsecureFallback' }, 'gw.example'));
  assert.equal(await get(good), 200);
  assert.equal(await get(stranger), 200);
  assert.equal(await get(null), 200);
});

test('validation turned off and on again takes effect on the same port', async () => {
  await apply(ir(null, 'gw.example'));
  assert.equal(await get(null), 200);
  await apply(ir({ ca: clientCA, mode: 'AllowValidOnly' }, 'gw.example'));
  assert.notEqual(await get(null), 200);
  assert.equal(await get(good), 200);
});

test('a certificate whose signature fails is refused by AllowValidOnly, and lets its connection work under AllowInsecureFallback', async () => {
  await apply(ir({ ca: sameName.ca, mode: 'AllowValidOnly' }, 'gw.example'));
  assert.notEqual(await get(sameName.impostor), 200);
  // Node leaves a failed signature check's OpenSSL error queued for the connection's first read.
  await apply(ir({ ca: sameName.ca, mode: 'AllowInsecureFallback' }, 'gw.example'));
  assert.equal(await get(sameName.impostor), 200);
  assert.equal(await get(good), 200);
});
