// A Gateway's own status: Accepted (parametersRef, address types, listeners), Programmed (an address
// from the pool), and the per-listener conditions.

import type { Condition, GatewayStatus, ListenerStatus } from '../objects.ts';
import type { AddressClaim, AddressGrant } from './address-pool.ts';
import type { BackendClientCertificate } from './backend-client-certificate.ts';
import { resolveBackendClientCertificate } from './backend-client-certificate.ts';
import type { Secrets } from './certificates.ts';
import type { Problem } from './conditions.ts';
import { condition, conditionFor } from './conditions.ts';
import type { ConfigMaps } from './frontend-validation.ts';
import { FrontendTLS } from './frontend-validation.ts';
import type { ListenerState } from './listeners.ts';
import { evaluateListeners, isServable, isValid } from './listeners.ts';
import type { Meta } from './read.ts';
import { arr, has, meta, rec, str } from './read.ts';
import type { ReferenceGrants } from './reference-grants.ts';

/** One of our Gateways, evaluated. */
export interface GatewayState {
  readonly meta: Meta;
  readonly listeners: readonly ListenerState[];
  /** Accepted: `ok` with reason Accepted or ListenersNotValid, or not ok with why. */
  readonly accepted: { readonly ok: boolean } & Problem;
  readonly claim: AddressClaim;
  /** Filled in once the pool is handed out: the addresses, or why Programmed is False. */
  grant: AddressGrant | null;
  /** `spec.tls.frontend` lets some port fall back to no client certificate (AllowInsecureFallback). */
  readonly insecureFrontend?: boolean;
  /** `spec.tls.backend.clientCertificateRef`, resolved; absent when not set. */
  readonly backendClient?: BackendClientCertificate;
  /** `spec.allowedListeners`, as given; absent when not set (no ListenerSet is allowed). */
  readonly allowedListeners?: unknown;
  /** The listeners of accepted ListenerSets (listener-sets.ts), after the Gateway's own. */
  readonly setListeners?: readonly ListenerState[];
}

/** Evaluates a Gateway of one of our GatewayClasses; `classProblem` is set when the class is unusable. */
export function evaluateGateway(
  raw: unknown,
  classProblem: Problem | null,
  secrets: Secrets,
  grants: ReferenceGrants,
  configMaps: ConfigMaps = new Map(),
): GatewayState {
  const m = meta(raw);
  const spec = rec(rec(raw).spec);
  const frontend = new FrontendTLS(spec, m.namespace, configMaps, grants);
  const listeners = evaluateListeners(arr(spec.listeners), m.namespace, secrets, grants, frontend);
  const specAddresses = arr(spec.addresses)
    .filter(has)
    .map((a) => ({
      type: str(rec(a).type) ?? 'IPAddress',
      value: str(rec(a).value) ?? '',
    }));
  const current = arr(rec(rec(raw).status).addresses)
    .map((a) => str(rec(a).value))
    .filter((v): v is string => v !== undefined);
  const claim: AddressClaim = { requested: specAddresses.map((a) => a.value || null), current };
  const backendClient = resolveBackendClientCertificate(spec, m.namespace, secrets, grants);
  return {
    meta: m,
    listeners,
    accepted: acceptance(spec, specAddresses, listeners, classProblem),
    claim,
    grant: null,
    ...(frontend.insecureFallback ? { insecureFrontend: true } : {}),
    ...(backendClient !== null ? { backendClient } : {}),
    ...(has(spec.allowedListeners) ? { allowedListeners: spec.allowedListeners } : {}),
  };
}

function acceptance(
  spec: Readonly<Record<string, unknown>>,
  addresses: readonly { type: string; value: string }[],
  listeners: readonly ListenerState[],
  classProblem: Problem | null,
): { ok: boolean } & Problem {
  if (classProblem !== null) return { ok: false, ...classProblem };
  if (has(rec(spec.infrastructure).parametersRef))
    return {
      ok: false,
      reason: 'InvalidParameters',
      message: 'spec.infrastructure.parametersRef is not supported by kubegate.',
    };
  const unsupported = addresses.filter((a) => a.type !== 'IPAddress');
  if (unsupported.length > 0)
    return {
      ok: false,
      reason: 'UnsupportedAddress',
      message: `Address type ${unsupported[0].type} is not supported; use IPAddress.`,
    };
  const invalid = listeners.filter((l) => !isValid(l)).map((l) => l.name);
  if (listeners.every((l) => l.accepted !== null))
    return { ok: false, reason: 'ListenersNotValid', message: 'No listener is valid.' };
  if (invalid.length > 0)
    return { ok: true, reason: 'ListenersNotValid', message: `Invalid listeners: ${invalid.join(', ')}.` };
  return { ok: true, reason: 'Accepted', message: 'Gateway is accepted.' };
}

/** Why the Gateway is not Programmed, or null when it is. */
export function programmedProblem(g: GatewayState): Problem | null {
  if (!g.accepted.ok) return { reason: 'Invalid', message: 'Gateway is not accepted.' };
  if (g.grant === null) return { reason: 'AddressNotAssigned', message: 'No address assigned.' };
  return 'addresses' in g.grant ? null : g.grant;
}

/** The Gateway's addresses (empty unless Programmed). */
export function addressesOf(g: GatewayState): readonly string[] {
  return g.grant !== null && 'addresses' in g.grant ? g.grant.addresses : [];
}

/** A listener's status (of a Gateway or a ListenerSet); `programmed` null: programmed. */
export function listenerStatus(
  l: ListenerState,
  attachedRoutes: number,
  programmed: Problem | null,
  gen: number,
): ListenerStatus {
  return {
    name: l.name,
    supportedKinds: l.supportedKinds.map((k) => ({ group: k.group, kind: k.kind })),
    attachedRoutes,
    conditions: [
      conditionFor('Accepted', l.accepted, 'Accepted', 'Listener is accepted.', gen),
      conditionFor('Programmed', programmed, 'Programmed', 'Listener is programmed.', gen),
      conditionFor('ResolvedRefs', l.resolvedRefs, 'ResolvedRefs', 'References are resolved.', gen),
      l.conflicted === null
        ? condition('Conflicted', false, 'NoConflicts', 'No conflicts.', gen)
        : condition('Conflicted', true, l.conflicted.reason, l.conflicted.message, gen),
    ],
  };
}

/** The Gateway status; `attached` counts routes per listener name. */
export function gatewayStatus(g: GatewayState, attached: ReadonlyMap<string, number>): GatewayStatus {
  const gen = g.meta.generation;
  const programmed = programmedProblem(g);
  const listeners = g.listeners.map((l) =>
    listenerStatus(
      l,
      attached.get(l.name) ?? 0,
      !isServable(l)
        ? { reason: 'Invalid', message: 'Listener is not valid.' }
        : programmed === null
          ? null
          : { reason: 'Pending', message: 'Gateway is not programmed.' },
      gen,
    ),
  );
  return {
    addresses: addressesOf(g).map((value) => ({ type: 'IPAddress', value })),
    conditions: [
      condition('Accepted', g.accepted.ok, g.accepted.reason, g.accepted.message, gen),
      conditionFor('Programmed', programmed, 'Programmed', 'Gateway is programmed.', gen),
      ...(g.insecureFrontend === true
        ? [
            condition(
              'InsecureFrontendValidationMode',
              true,
              'ConfigurationChanged',
              'spec.tls.frontend lets clients without a valid certificate in (AllowInsecureFallback).',
              gen,
            ),
          ]
        : []),
      ...(g.backendClient !== undefined ? [resolvedRefs(g, g.backendClient, gen)] : []),
    ],
    listeners,
  };
}

/**
 * The Gateway's ResolvedRefs (written only for a Gateway with `spec.tls.backend`, the one
 * Gateway-level reference kubegate resolves): the client certificate, then a summary of the
 * listeners' ResolvedRefs.
 */
function resolvedRefs(g: GatewayState, client: BackendClientCertificate, gen: number): Condition {
  if (!('pair' in client)) return condition('ResolvedRefs', false, client.reason, client.message, gen);
  const unresolved = g.listeners.filter((l) => l.resolvedRefs !== null).map((l) => l.name);
  return unresolved.length > 0
    ? condition(
        'ResolvedRefs',
        false,
        'ListenersNotResolved',
        `Unresolved listeners: ${unresolved.join(', ')}.`,
        gen,
      )
    : condition('ResolvedRefs', true, 'ResolvedRefs', 'References are resolved.', gen);
}
