// The podlet's spec resolver: a Pod's spec turned into what the runtime needs, probes, and the check
// of what the podlet can run.

export { SpecError } from './errors.ts';
export { resolveEnv, expandArgs, expandCommand, type EnvContext, type EnvEvent } from './env.ts';
export { materializeVolumes, refreshVolumes, nextTokenRefresh, type VolumeOptions } from './volumes.ts';
export { containerMounts } from './mounts.ts';
export { runProbe, type ProbeContext, type ProbeResult } from './probe.ts';
export { Prober, type ProbeKind, type ProberOptions } from './prober.ts';
export { unsupportedReason } from './unsupported.ts';
export { podHostsFile, podResolvConf, type NodeDns } from './dns-files.ts';
export type { NodeAllocatable } from './resources.ts';
