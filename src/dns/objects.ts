// The parts of Services and EndpointSlices cluster DNS reads, as structural types: an informer's
// full objects satisfy them, and unit tests write them by hand.

export interface DnsServicePort {
  readonly name?: string;
  readonly protocol?: string;
  readonly port: number;
}

export interface DnsService {
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly spec?: {
    readonly type?: string;
    readonly clusterIP?: string;
    readonly clusterIPs?: readonly string[];
    readonly externalName?: string;
    readonly ports?: readonly DnsServicePort[];
    readonly publishNotReadyAddresses?: boolean;
  };
}

export interface DnsEndpoint {
  readonly addresses: readonly string[];
  readonly conditions?: { readonly ready?: boolean | null };
  readonly hostname?: string;
}

export interface DnsEndpointSlice {
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
  };
  readonly addressType?: string;
  readonly endpoints?: readonly DnsEndpoint[] | null;
  readonly ports?:
    readonly { readonly name?: string; readonly port?: number; readonly protocol?: string }[] | null;
}
