import type { SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { ClientValidationIR, ListenerIR, PortIR, VirtualHostIR } from '../ir.ts';
import { HostTable } from './host-table.ts';
import { CompiledRoute } from './route.ts';
import type { SecureContextCache, ServingCertificate } from './tls-contexts.ts';

/** A virtual host's routes, in precedence order. */
export class VirtualHostTable {
  readonly hostname: string;
  readonly routes: readonly CompiledRoute[];

  constructor(v: VirtualHostIR, log: Logger) {
    this.hostname = v.hostname;
    const routes: CompiledRoute[] = [];
    for (const r of v.routes) {
      try {
        routes.push(new CompiledRoute(r));
      } catch (err) {
        log.warn(
          { route: r.id, err: (err as Error).message },
          'gatewayapi: route dropped: its match does not compile',
        );
      }
    }
    this.routes = routes;
  }
}

// Compiled virtual hosts by IR object: the translator hands the same (frozen) object for a virtual
// host nothing changed in, so an apply compiles only the virtual hosts that changed.
const compiledHosts = new WeakMap<VirtualHostIR, VirtualHostTable>();

function virtualHostTable(v: VirtualHostIR, log: Logger): VirtualHostTable {
  let t = compiledHosts.get(v);
  if (t === undefined) compiledHosts.set(v, (t = new VirtualHostTable(v, log)));
  return t;
}

/** A listener's virtual hosts; requests it takes see only these (listener isolation). */
export class ListenerTable {
  readonly name: string;
  readonly hostname: string | null;
  readonly virtualHosts = new HostTable<VirtualHostTable>();

  constructor(l: ListenerIR, log: Logger) {
    this.name = l.name;
    this.hostname = l.hostname;
    for (const v of l.virtualHosts) this.virtualHosts.add(v.hostname, virtualHostTable(v, log));
  }
}

/** Everything one bound socket serves; swapped whole on apply. */
export class PortTable {
  readonly gateway: string;
  readonly address: string;
  readonly port: number;
  readonly protocol: 'HTTP' | 'HTTPS';
  readonly scheme: 'http' | 'https';
  readonly listeners = new HostTable<ListenerTable>();
  /** HTTPS: the certificate for an SNI name (the most specific listener hostname with one). */
  readonly certificates = new HostTable<SecureContext>();
  /** HTTPS: the certificate for clients that send no SNI or an unknown name. */
  readonly defaultCertificate: ServingCertificate | null = null;
  /** HTTPS: how client certificates are checked; null: none is asked for. */
  readonly clientValidation: ClientValidationIR | null;
  /** HTTPS: the CAs a client certificate is verified against (AllowValidOnly only). */
  readonly clientCA: string | null;

  constructor(p: PortIR, contexts: SecureContextCache, log: Logger) {
    this.gateway = p.gateway;
    this.address = p.address;
    this.port = p.port;
    this.protocol = p.protocol;
    this.scheme = p.protocol === 'HTTPS' ? 'https' : 'http';
    this.clientValidation = p.protocol === 'HTTPS' ? (p.clientValidation ?? null) : null;
    // AllowInsecureFallback lets every client in, so its certificate is asked for but not
    // verified: a failed signature check leaves OpenSSL's error queued, and Node then fails the
    // connection's first read (the client gets a 400) although the handshake was let through.
    this.clientCA = this.clientValidation?.mode === 'AllowValidOnly' ? this.clientValidation.ca : null;
    let catchAll: ServingCertificate | null = null;
    let first: ServingCertificate | null = null;
    for (const l of p.listeners) {
      this.listeners.add(l.hostname, new ListenerTable(l, log));
      if (p.protocol !== 'HTTPS' || l.tls === null) continue;
      let s: ServingCertificate;
      try {
        s = contexts.serving(l.tls, this.clientCA);
      } catch (err) {
        log.warn(
          { gateway: p.gateway, listener: l.name, err: (err as Error).message },
          'gatewayapi: listener has no usable certificate',
        );
        continue;
      }
      this.certificates.add(l.hostname, s.context);
      first ??= s;
      if (l.hostname === null && catchAll === null) catchAll = s;
    }
    this.defaultCertificate = catchAll ?? first;
  }
}

/** `address|port`: one socket. */
export function socketKey(address: string, port: number): string {
  return `${address}|${port}`;
}
