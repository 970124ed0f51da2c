import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { devDir, devDirB } from '../env.ts';

// Raw-protocol helpers for the adversarial suite: the gateway must see the exact bytes a hostile
// client sends, which node's own HTTP clients refuse to produce (duplicate Content-Length,
// obs-fold, bare CR, repeated pseudo-headers…). Every socket operation has a deadline.

const TIMEOUT_MS = 5_000;
let seq = 0;

/** A marker unique to this test run and case: put it in the path and the User-Agent. */
export function marker(name: string): string {
  return `adv-${process.pid}-${++seq}-${name}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
}

/** The dev admin's client certificate, or another user's from the dev folder. */
export function credential(user: 'admin' | string): { cert: Buffer; key: Buffer } {
  const d = devDir();
  const base = user === 'admin' ? join(d, 'pki', 'admin') : join(d, 'users', user);
  return { cert: readFileSync(`${base}.crt`), key: readFileSync(`${base}.key`) };
}

export interface TLSOptions {
  /** CAs the server's chain is verified against; default: cluster A's (the dev CA). */
  ca?: Buffer | Buffer[];
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  alpn?: string[];
}

/** A TLS connection to `url`'s host and port with the dev CA. */
export function openTLS(url: string, opts: TLSOptions = {}): Promise<TLSSocket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({
      host: u.hostname,
      port: Number(u.port),
      ca: opts.ca ?? readFileSync(join(devDir(), 'pki', 'ca.crt')),
      cert: opts.cert,
      key: opts.key,
      servername: opts.servername ?? 'localhost',
      // With a server name of its own (the SNI/Host cases) the chain is verified, and the name is
      // what is under test: a cluster's own certificate, or the listener's for an unknown name.
      ...(opts.servername === undefined ? {} : { checkServerIdentity: () => undefined }),
      ALPNProtocols: opts.alpn ?? ['http/1.1'],
      timeout: TIMEOUT_MS,
    });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
    s.once('timeout', () => s.destroy(new Error('TLS connect timed out')));
  });
}

export interface RawResponse {
  /** Everything the server sent until it closed (or the deadline). */
  raw: string;
  /** The first response's status code, or 0 when none came. */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Whether the server closed the connection before the deadline. */
  closed: boolean;
}

/**
 * Writes `bytes` as they are over TLS with ALPN http/1.1 and reads until the server closes or
 * `waitMs` pass; requests should say `Connection: close`.
 */
export async function rawH1(
  url: string,
  bytes: string | Buffer,
  opts: TLSOptions & { waitMs?: number } = {},
): Promise<RawResponse> {
  const s = await openTLS(url, opts);
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), opts.waitMs ?? TIMEOUT_MS);
    s.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    s.on('error', () => {}); // a reset is a close
    s.write(bytes);
  });
  s.destroy();
  return parseH1(Buffer.concat(chunks).toString('latin1'), closed);
}

function parseH1(raw: string, closed: boolean): RawResponse {
  const m = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/.exec(raw);
  const end = raw.indexOf('\r\n\r\n');
  const headers: Record<string, string> = {};
  if (!m || end < 0) return { raw, status: 0, headers, body: '', closed };
  for (const line of raw.slice(m[0].length, end).split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = raw.slice(end + 4);
  if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
  else if (headers['content-length']) body = body.slice(0, Number(headers['content-length']));
  return { raw, status: Number(m[1]), headers, body, closed };
}

function dechunk(s: string): string {
  let out = '';
  for (let i = 0; ;) {
    const eol = s.indexOf('\r\n', i);
    if (eol < 0) return out;
    const n = parseInt(s.slice(i, eol), 16);
    if (!(n > 0)) return out;
    out += s.slice(eol + 2, eol + 2 + n);
    i = eol + 2 + n + 2;
  }
}

/** Asserts a Kubernetes Status body with this code and reason. */
export function assertStatus(r: { status: number; body: string }, code: number, reason: string): void {
  assert.equal(r.status, code, `status ${r.status}, body ${r.body}`);
  const st = JSON.parse(r.body) as { kind: string; code: number; reason: string };
  assert.equal(st.kind, 'Status');
  assert.equal(st.code, code);
  assert.equal(st.reason, reason);
}

/** The message of a Status body. */
export function message(r: { body: string }): string {
  return (JSON.parse(r.body) as { message: string }).message;
}

/** One HTTP/1.1 request's bytes; `headers` are written as given (duplicates, odd case, CR/LF…). */
export function h1Request(method: string, target: string, headers: [string, string][], body = ''): string {
  const lines = [`${method} ${target} HTTP/1.1`, ...headers.map(([n, v]) => `${n}: ${v}`)];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

// ---- HTTP/2 frames by hand ----------------------------------------------------------------

export const H2 = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7 } as const;
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

function hpackInt(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

/** An HPACK header block of literal fields without indexing, no Huffman: exactly these pairs. */
export function hpack(fields: [string, string][]): Buffer {
  const out: number[] = [];
  for (const [n, v] of fields) {
    out.push(0x00, ...hpackInt(Buffer.byteLength(n), 7, 0), ...Buffer.from(n));
    out.push(...hpackInt(Buffer.byteLength(v), 7, 0), ...Buffer.from(v));
  }
  return Buffer.from(out);
}

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/**
 * Opens TLS with ALPN h2, sends the preface, an empty SETTINGS, a SETTINGS ACK and `frames`,
 * then reads frames until the server closes, sends GOAWAY, or has answered or reset each of `untilStreams`.
 */
export async function rawH2(
  url: string,
  frames: Buffer[],
  opts: TLSOptions & { untilStreams?: number[]; waitMs?: number } = {},
): Promise<{ frames: Frame[]; closed: boolean }> {
  const s = await openTLS(url, { ...opts, alpn: ['h2'] });
  assert.equal(s.alpnProtocol, 'h2');
  const got: Frame[] = [];
  let buf = Buffer.alloc(0);
  const open = new Set(opts.untilStreams ?? []);
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), opts.waitMs ?? TIMEOUT_MS);
    const done = (c: boolean) => {
      clearTimeout(timer);
      resolve(c);
    };
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const f = {
          type: buf[3],
          flags: buf[4],
          stream: buf.readUInt32BE(5) & 0x7fffffff,
          payload: buf.subarray(9, 9 + len),
        };
        buf = buf.subarray(9 + len);
        got.push(f);
        if (f.type === H2.GOAWAY) return done(false);
        const end = (f.type === H2.HEADERS || f.type === H2.DATA) && (f.flags & 0x1) !== 0;
        if ((f.type === H2.RST_STREAM || end) && open.delete(f.stream) && open.size === 0) return done(false);
      }
    });
    s.once('close', () => done(true));
    s.on('error', () => {});
    s.write(Buffer.concat([PREFACE, frame(H2.SETTINGS, 0, 0), frame(H2.SETTINGS, 1, 0), ...frames]));
  });
  s.destroy();
  return { frames: got, closed };
}

/** The HTTP/2 error code of a RST_STREAM or GOAWAY frame. */
export function h2ErrorCode(f: Frame): number {
  return f.type === H2.GOAWAY ? f.payload.readUInt32BE(4) : f.payload.readUInt32BE(0);
}

// ---- the apiservers' audit logs -----------------------------------------------------------

export interface AuditEvent {
  auditID: string;
  stage: string;
  requestURI: string;
  verb: string;
  userAgent?: string;
  user: { username: string; groups?: string[] };
  impersonatedUser?: { username: string; groups?: string[] };
  responseStatus?: { code: number };
}

/** Every audit event of the clusters' apiservers (default both, A and B) whose line mentions `mark` (URI or user agent). */
export function auditEvents(mark: string, clusters: readonly ('A' | 'B')[] = ['A', 'B']): AuditEvent[] {
  const out: AuditEvent[] = [];
  for (const d of clusters.map((c) => (c === 'A' ? devDir() : devDirB()))) {
    const dir = join(d, 'audit');
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) {
      for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
        if (line.includes(mark)) out.push(JSON.parse(line) as AuditEvent);
      }
    }
  }
  return out;
}

/** The identity a request ran under upstream: the impersonated user, else the authenticated one. */
export function effectiveUser(e: AuditEvent): string {
  return e.impersonatedUser?.username ?? e.user.username;
}

/**
 * The audit check of every case: waits (bounded) until `expected` requests with `mark` were
 * audited (blocking audit mode writes before answering; the poll covers a slow disk), then
 * checks that none ran under an identity other than `allowed`, and that there are no more.
 */
export async function assertAudited(
  mark: string,
  expected: number,
  allowed: readonly string[] = [],
): Promise<AuditEvent[]> {
  const deadline = Date.now() + (expected > 0 ? 5_000 : 500);
  let events = auditEvents(mark);
  while (Date.now() < deadline && requests(events) < expected) {
    await sleep(100);
    events = auditEvents(mark);
  }
  if (expected === 0) {
    await sleep(Math.max(0, deadline - Date.now()));
    events = auditEvents(mark);
  }
  for (const e of events)
    assert.ok(
      allowed.includes(effectiveUser(e)),
      `audited as ${effectiveUser(e)} (${e.requestURI}), allowed: ${allowed.join(', ') || 'none'}`,
    );
  assert.equal(
    requests(events),
    expected,
    `audited requests for ${mark}: ${JSON.stringify(events.map((e) => e.requestURI))}`,
  );
  return events;
}

function requests(events: AuditEvent[]): number {
  return new Set(events.map((e) => e.auditID)).size;
}

const STATIC_STATUS: Record<number, number> = { 8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500 };
// HPACK Huffman codes (RFC 7541 Appendix B) of the ten digits, all a status value needs.
const HUFFMAN_DIGITS: [number, number][] = [
  [0x0, 5], [0x1, 5], [0x2, 5], [0x19, 6], [0x1a, 6], [0x1b, 6], [0x1c, 6], [0x1d, 6], [0x1e, 6], [0x1f, 6],
]; // prettier-ignore

/** The `:status` of a response HEADERS frame (the first field, as node/nghttp2 encodes it). */
export function h2Status(payload: Buffer): number {
  let i = 0;
  while ((payload[i] & 0xe0) === 0x20) i++; // dynamic table size updates
  const b = payload[i];
  if (b & 0x80) return STATIC_STATUS[b & 0x7f] ?? 0;
  const nameIndex = (b & 0xc0) === 0x40 ? b & 0x3f : b & 0x0f;
  if (nameIndex < 8 || nameIndex > 14) return 0;
  const l = payload[i + 1];
  const value = payload.subarray(i + 2, i + 2 + (l & 0x7f));
  if ((l & 0x80) === 0) return Number(value.toString('latin1'));
  let bits = '';
  for (const byte of value) bits += byte.toString(2).padStart(8, '0');
  let out = '';
  for (let p = 0; p + 5 <= bits.length && out.length < 3;) {
    const d = HUFFMAN_DIGITS.findIndex(
      ([code, n]) => parseInt(bits.slice(p, p + n), 2) === code && p + n <= bits.length,
    );
    if (d < 0) return 0;
    out += String(d);
    p += HUFFMAN_DIGITS[d][1];
  }
  return Number(out);
}
