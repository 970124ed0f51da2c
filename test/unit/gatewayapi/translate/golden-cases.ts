import { readFileSync, readdirSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { TranslateInput } from '../../../../src/gatewayapi/translate/index.ts';

/** The folder of `<case>.in.yaml` / `<case>.out.yaml` pairs. */
export const TESTDATA = new URL('./testdata/', import.meta.url);

export const CONTROLLER_NAME = 'kubegate.io/gateway-controller';
export const ADDRESS_POOL = '10.250.2.0/24';

/** The case names, sorted. */
export function caseNames(): string[] {
  return readdirSync(TESTDATA)
    .filter((f) => f.endsWith('.in.yaml'))
    .map((f) => f.slice(0, -'.in.yaml'.length))
    .sort();
}

const FIELD_BY_KIND: Record<string, keyof TranslateInput> = {
  GatewayClass: 'gatewayClasses',
  Gateway: 'gateways',
  ListenerSet: 'listenerSets',
  HTTPRoute: 'httpRoutes',
  GRPCRoute: 'grpcRoutes',
  TLSRoute: 'tlsRoutes',
  TCPRoute: 'tcpRoutes',
  UDPRoute: 'udpRoutes',
  ReferenceGrant: 'referenceGrants',
  Service: 'services',
  EndpointSlice: 'endpointSlices',
  Secret: 'secrets',
  Namespace: 'namespaces',
  ConfigMap: 'configMaps',
  BackendTLSPolicy: 'backendTLSPolicies',
  TrafficPolicy: 'trafficPolicies',
};

/**
 * The input of a case: its objects sorted into the TranslateInput lists by kind. A document of kind
 * `TranslateConfig` may override `controllerName` and `addressPool`.
 */
export function loadInput(name: string): TranslateInput {
  const input: TranslateInput = {
    controllerName: CONTROLLER_NAME,
    addressPool: ADDRESS_POOL,
    gatewayClasses: [],
    gateways: [],
    listenerSets: [],
    httpRoutes: [],
    grpcRoutes: [],
    tlsRoutes: [],
    tcpRoutes: [],
    udpRoutes: [],
    referenceGrants: [],
    services: [],
    endpointSlices: [],
    secrets: [],
    namespaces: [],
    configMaps: [],
    backendTLSPolicies: [],
    trafficPolicies: [],
  };
  const text = readFileSync(new URL(`${name}.in.yaml`, TESTDATA), 'utf8');
  for (const doc of parseAllDocuments(text)) {
    const obj = doc.toJS() as Record<string, unknown> | null;
    if (obj === null) continue;
    if (obj.kind === 'TranslateConfig') {
      if (typeof obj.controllerName === 'string') input.controllerName = obj.controllerName;
      if (typeof obj.addressPool === 'string') input.addressPool = obj.addressPool;
      continue;
    }
    const field = FIELD_BY_KIND[String(obj.kind)];
    if (field === undefined) throw new Error(`${name}.in.yaml: unknown kind ${String(obj.kind)}`);
    (input[field] as unknown[]).push(obj);
  }
  return input;
}
