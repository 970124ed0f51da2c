export { createLab, LabError, type Lab, type LabNode, type LabOptions } from './lab.ts';
export { destroyLab, sweepLabs } from './destroy.ts';
export { setPodCIDR, type PodCIDROptions } from './pod-cidr.ts';
export { addGatewayHost, type GatewayHost } from './gateway-host.ts';
export {
  UNDERLAY_CIDR,
  UNDERLAY_GATEWAY,
  UNDERLAY_PREFIX_LENGTH,
  UNDERLAY_BRIDGE,
  NODE_BRIDGE,
  NODE_UPLINK,
  nodeAddress,
  GATEWAY_ADDRESS_POOL,
  GATEWAY_HOST_ADDRESS,
} from './constants.ts';
export { CidrError, firstHost, intToIpv4, ipv4ToInt, parseCidr, type Ipv4Cidr } from './cidr.ts';
export { CommandError, runCommand } from './command.ts';
export {
  addNetns,
  deleteNetns,
  ipBatch,
  ipIn,
  killNetnsProcesses,
  listNetns,
  netnsExists,
  netnsPids,
} from './netns.ts';
