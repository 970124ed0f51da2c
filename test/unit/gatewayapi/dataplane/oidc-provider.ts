// A small OpenID provider for tests: discovery, /authorize (logs a fixed user in at once and sends
// the browser back with a code), /token (client_secret_basic, PKCE S256, single-use codes), /jwks,
// RS256 ID tokens. Tests start it in-process (`startOIDCProvider`) and change `behaviour` to make
// it misbehave, or as its own process:
//
//   node test/unit/gatewayapi/dataplane/oidc-provider.ts --cert C --key K --client-id ID \
//     --client-secret S [--user alice] [--port 0]
//
// which prints one JSON line `{"issuer":"https://localhost:PORT"}` once it listens.

import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

export interface OIDCProviderOptions {
  /** PEM certificate and key for localhost / 127.0.0.1. */
  cert: string;
  key: string;
  clientID: string;
  clientSecret: string;
  /** The `sub` every login gets. */
  user?: string;
  port?: number;
}

/** Ways a test makes the provider misbehave; all off by default. */
export interface ProviderBehaviour {
  /** The ID token's nonce instead of the one /authorize was given. */
  nonce?: string;
  /** The ID token's `aud` instead of the client ID. */
  audience?: string;
  /** Seconds the ID token lives (default 3600; negative: already expired). */
  idTokenTTL?: number;
  /** The token endpoint answers this status with an error body. */
  tokenStatus?: number;
  /** The token endpoint drops the connection. */
  tokenDrops?: boolean;
  /** Signs ID tokens with a key not in the JWKS. */
  foreignKey?: boolean;
}

export interface OIDCProvider {
  readonly issuer: string;
  readonly server: Server;
  readonly behaviour: ProviderBehaviour;
  /** Token requests seen, with whether their client authentication was right. */
  readonly tokenRequests: { basicAuthOK: boolean; grant: string | null }[];
  close(): Promise<void>;
}

interface Grant {
  clientID: string;
  redirectURI: string;
  nonce: string | null;
  challenge: string;
}

const signing = generateKeyPairSync('rsa', { modulusLength: 2048 });
const foreign = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KID = 'test-provider';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

export async function startOIDCProvider(o: OIDCProviderOptions): Promise<OIDCProvider> {
  const grants = new Map<string, Grant>();
  const behaviour: ProviderBehaviour = {};
  const tokenRequests: OIDCProvider['tokenRequests'] = [];
  let issuer = '';

  const idToken = (g: Grant): string => {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: issuer,
      sub: o.user ?? 'alice',
      aud: behaviour.audience ?? g.clientID,
      iat: now,
      exp: now + (behaviour.idTokenTTL ?? 3600),
      email: `${o.user ?? 'alice'}@example.com`,
      groups: ['staff'],
      ...(g.nonce === null && behaviour.nonce === undefined ? {} : { nonce: behaviour.nonce ?? g.nonce }),
    };
    const head = `${b64({ alg: 'RS256', typ: 'JWT', kid: KID })}.${b64(claims)}`;
    const key = behaviour.foreignKey === true ? foreign.privateKey : signing.privateKey;
    return `${head}.${sign('sha256', Buffer.from(head), key).toString('base64url')}`;
  };

  const authorize = (url: URL, res: ServerResponse): void => {
    const q = url.searchParams;
    const redirectURI = q.get('redirect_uri') ?? '';
    if (q.get('client_id') !== o.clientID || q.get('response_type') !== 'code' || redirectURI === '')
      return json(res, 400, { error: 'invalid_request' });
    if (q.get('code_challenge_method') !== 'S256' || (q.get('code_challenge') ?? '') === '')
      return json(res, 400, { error: 'invalid_request', error_description: 'PKCE S256 required' });
    if (!(q.get('scope') ?? '').split(' ').includes('openid'))
      return json(res, 400, { error: 'invalid_scope' });
    const code = randomBytes(16).toString('base64url');
    grants.set(code, {
      clientID: o.clientID,
      redirectURI,
      nonce: q.get('nonce'),
      challenge: q.get('code_challenge')!,
    });
    const back = new URL(redirectURI);
    back.searchParams.set('code', code);
    if (q.has('state')) back.searchParams.set('state', q.get('state')!);
    res.writeHead(302, { location: back.href, 'content-length': 0 });
    res.end();
  };

  const token = (req: IncomingMessage, body: string, res: ServerResponse): void => {
    const form = new URLSearchParams(body);
    const basicAuthOK = basicCredentials(req.headers.authorization) === `${o.clientID}\n${o.clientSecret}`;
    tokenRequests.push({ basicAuthOK, grant: form.get('grant_type') });
    if (behaviour.tokenDrops === true) return void req.socket.destroy();
    if (behaviour.tokenStatus !== undefined)
      return json(res, behaviour.tokenStatus, {
        error: behaviour.tokenStatus < 500 ? 'invalid_grant' : 'server_error',
      });
    if (!basicAuthOK) return json(res, 401, { error: 'invalid_client' });
    const code = form.get('code') ?? '';
    const g = grants.get(code);
    grants.delete(code);
    const verifier = form.get('code_verifier') ?? '';
    if (
      form.get('grant_type') !== 'authorization_code' ||
      g === undefined ||
      g.redirectURI !== form.get('redirect_uri') ||
      createHash('sha256').update(verifier).digest('base64url') !== g.challenge
    )
      return json(res, 400, { error: 'invalid_grant' });
    json(res, 200, {
      access_token: randomBytes(16).toString('hex'),
      token_type: 'Bearer',
      expires_in: 3600,
      id_token: idToken(g),
    });
  };

  const server = createServer({ cert: o.cert, key: o.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', issuer);
      if (url.pathname === '/.well-known/openid-configuration')
        return json(res, 200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['client_secret_basic'],
        });
      if (url.pathname === '/jwks')
        return json(res, 200, {
          keys: [{ ...signing.publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' }],
        });
      if (url.pathname === '/authorize' && req.method === 'GET') return authorize(url, res);
      if (url.pathname === '/token' && req.method === 'POST')
        return token(req, Buffer.concat(chunks).toString(), res);
      json(res, 404, { error: 'not_found' });
    });
  });
  await new Promise<void>((r) => server.listen(o.port ?? 0, '127.0.0.1', r));
  issuer = `https://localhost:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    server,
    behaviour,
    tokenRequests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** `id\nsecret` of an RFC 6749 §2.3.1 Basic header (each part form-decoded), or null. */
function basicCredentials(header: string | undefined): string | null {
  if (header?.startsWith('Basic ') !== true) return null;
  const pair = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = pair.indexOf(':');
  if (colon < 0) return null;
  const decode = (s: string) => decodeURIComponent(s.replaceAll('+', ' '));
  return `${decode(pair.slice(0, colon))}\n${decode(pair.slice(colon + 1))}`;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      cert: { type: 'string' },
      key: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      user: { type: 'string', default: 'alice' },
      port: { type: 'string', default: '0' },
    },
  });
  const p = await startOIDCProvider({
    cert: await readFile(values.cert ?? '', 'utf8'),
    key: await readFile(values.key ?? '', 'utf8'),
    clientID: values['client-id'] ?? '',
    clientSecret: values['client-secret'] ?? '',
    user: values.user,
    port: Number(values.port),
  });
  process.stdout.write(`${JSON.stringify({ issuer: p.issuer })}\n`);
  process.on('SIGTERM', () => void p.close().then(() => process.exit(0)));
}
