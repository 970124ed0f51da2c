export { ClusterDns, type ClusterDnsOptions } from './cluster-dns.ts';
export { DnsServer, type DnsServerOptions } from './server.ts';
export { ClusterZone, reverseName, type Lookup, type ZoneRecord } from './zone.ts';
