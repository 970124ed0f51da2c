import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, PeerCertificate } from 'node:tls';
import { GatewayError } from '../errors.ts';
import type { Identity } from '../request/types.ts';
import { fromHeaderValue } from './go-text.ts';
import { unescapeExtraKey } from './impersonation.ts';
import { freezeIdentity, withAuthenticatedGroup } from './user.ts';

/** Which front proxy kubegate trusts and the headers it reads (kube-apiserver's --requestheader-* flags). */
export interface FrontProxyOptions {
  /** PEM bundle of the front-proxy CA(s) (`--requestheader-client-ca-file`). */
  ca: string;
  /** CNs a front-proxy client certificate may have; empty = any (`--requestheader-allowed-names`). */
  allowedNames?: readonly string[];
  usernameHeaders?: readonly string[];
  uidHeaders?: readonly string[];
  groupHeaders?: readonly string[];
  extraHeaderPrefixes?: readonly string[];
}

/**
 * The header names kubeadm configures. No uid header by default, as in kube-apiserver: an
 * aggregator older than the uid support (Kubernetes 1.32) does not remove a client's own
 * `X-Remote-Uid` before proxying, so believing it must be asked for (`uidHeaders`).
 */
export const FRONT_PROXY_DEFAULTS = Object.freeze({
  usernameHeaders: Object.freeze(['X-Remote-User']),
  uidHeaders: Object.freeze([] as string[]),
  groupHeaders: Object.freeze(['X-Remote-Group']),
  extraHeaderPrefixes: Object.freeze(['X-Remote-Extra-']),
});

/** Request header lines as Node gives them: name, value, name, value… */
export type RawHeaders = readonly string[];

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * The request-header authenticator of kube-apiserver (k8s.io/apiserver `x509request.NewVerifier`
 * around `requestheader`): the identity in `X-Remote-*` headers, believed only from a connection
 * whose client certificate a front-proxy CA issued and whose CN is allowed.
 *
 * The listener's TLS layer verifies client certificates against the client CA and the front-proxy
 * CA together (one `ca` list), so `socket.authorized` does not say which one; kube-apiserver keeps
 * the two pools apart and so does this: a certificate is a front proxy's only when its signature
 * verifies with a front-proxy CA's key here, and such a certificate never stands for its own CN
 * as an x509 user (`Authenticator` skips it). The front proxy may present intermediate CA
 * certificates after its own (the configured CA is then the root): the chain is walked by
 * signature through the CA certificates the client sent, as kube-apiserver's verifier does.
 */
export class FrontProxyAuthenticator {
  readonly #cas: readonly X509Certificate[];
  readonly #allowed: ReadonlySet<string>;
  readonly #users: readonly string[];
  readonly #uids: readonly string[];
  readonly #groups: readonly string[];
  readonly #prefixes: readonly string[];
  /** Each connection hands the same certificate object to its requests: check the signature once. */
  readonly #issued = new WeakMap<PeerCertificate, boolean>();

  constructor(opts: FrontProxyOptions) {
    const pems = opts.ca.match(PEM_CERT) ?? [];
    if (pems.length === 0) throw new Error('front-proxy CA: no PEM certificate in the bundle');
    this.#cas = pems.map((p) => new X509Certificate(p));
    this.#allowed = new Set(opts.allowedNames ?? []);
    const lower = (l: readonly string[] | undefined, d: readonly string[]) =>
      (l ?? d).map((h) => h.toLowerCase());
    this.#users = lower(opts.usernameHeaders, FRONT_PROXY_DEFAULTS.usernameHeaders);
    this.#uids = lower(opts.uidHeaders, FRONT_PROXY_DEFAULTS.uidHeaders);
    this.#groups = lower(opts.groupHeaders, FRONT_PROXY_DEFAULTS.groupHeaders);
    this.#prefixes = lower(opts.extraHeaderPrefixes, FRONT_PROXY_DEFAULTS.extraHeaderPrefixes);
  }

  /** Whether a verified client certificate was issued by a front-proxy CA (checked by signature). */
  isFrontProxyCertificate(cert: PeerCertificate): boolean {
    let known = this.#issued.get(cert);
    if (known === undefined) {
      known = this.#check(cert);
      this.#issued.set(cert, known);
    }
    return known;
  }

  #check(cert: PeerCertificate): boolean {
    const sent = sentChain(cert);
    if (sent.length === 0) return false;
    const now = Date.now();
    const valid = (c: X509Certificate) => now >= Date.parse(c.validFrom) && now <= Date.parse(c.validTo);
    const [leaf, ...intermediates] = sent;
    let current = leaf;
    if (!valid(leaf)) return false;
    // The TLS layer verified a chain to the client CA or the front-proxy CA; which one is told here
    // by signatures only (names can be copied), through intermediates that are valid CAs.
    for (let depth = 0; depth <= MAX_INTERMEDIATES; depth++) {
      const c = current;
      if (this.#cas.some((ca) => c.checkIssued(ca) && c.verify(ca.publicKey))) return true;
      const next = intermediates.find((i) => i.ca && valid(i) && c.checkIssued(i) && c.verify(i.publicKey));
      if (next === undefined) return false;
      current = next;
    }
    return false;
  }

  /**
   * The identity a front proxy asserts, for a certificate `isFrontProxyCertificate` accepted:
   * null when no username header is set (kube-apiserver then tries its other authenticators);
   * throws 401 when the CN is not an allowed name.
   */
  authenticate(cert: PeerCertificate, rawHeaders: RawHeaders): Identity | null {
    const cn = commonName(cert);
    if (this.#allowed.size > 0 && !this.#allowed.has(cn))
      throw new GatewayError(
        'KG_UNAUTHENTICATED',
        'Unauthorized',
        `x509: subject with cn=${cn} is not in the allowed list`,
      );
    const groups: string[] = [];
    const extra: Record<string, string[]> = {};
    // User and uid: the first line of the first listed header whose first line is non-empty (Go's
    // http.Header.Get reads the first line only); groups and extra: every non-empty line.
    const byName = new Map<string, string[]>();
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const name = rawHeaders[i].toLowerCase();
      let list = byName.get(name);
      if (!list) byName.set(name, (list = []));
      list.push(fromHeaderValue(rawHeaders[i + 1]));
    }
    const first = (names: readonly string[]) => {
      for (const n of names) {
        const v = byName.get(n)?.[0];
        if (v) return v;
      }
      return '';
    };
    const user = first(this.#users);
    if (user === '') return null;
    const uid = first(this.#uids);
    for (const n of this.#groups) for (const v of byName.get(n) ?? []) if (v !== '') groups.push(v);
    for (const [name, values] of byName)
      for (const p of this.#prefixes)
        if (name.startsWith(p) && name.length > p.length) {
          // kube-apiserver lowercases the name first, then unescapes (so %41 stays "A").
          const key = unescapeExtraKey(name.slice(p.length));
          (extra[key] ??= []).push(...values.filter((v) => v !== ''));
          break;
        }
    return withAuthenticatedGroup(freezeIdentity({ user, uid, groups, extra }));
  }
}

/** Intermediate CA certificates followed from a front proxy's certificate at most. */
const MAX_INTERMEDIATES = 4;

/**
 * The certificates a client sent, leaf first, as `getPeerCertificate(true)` links them
 * (`issuerCertificate`, ending with a self-reference); [] when the leaf does not parse.
 */
function sentChain(cert: PeerCertificate): X509Certificate[] {
  const out: X509Certificate[] = [];
  let c: PeerCertificate | undefined = cert;
  for (let i = 0; c?.raw && i <= MAX_INTERMEDIATES + 1; i++) {
    try {
      out.push(new X509Certificate(c.raw));
    } catch {
      if (i === 0) return [];
      break;
    }
    const next: PeerCertificate | undefined = (c as DetailedPeerCertificate).issuerCertificate;
    if (next === c) break;
    c = next;
  }
  return out;
}

function commonName(cert: PeerCertificate): string {
  const cn = (cert.subject as unknown as Record<string, string | string[] | undefined>).CN;
  return (Array.isArray(cn) ? cn.at(-1) : cn) ?? '';
}
