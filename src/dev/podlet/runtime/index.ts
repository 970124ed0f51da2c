export { PodIPAM } from './ipam.ts';
export { createPodSandbox, hostVethName, SandboxError, type PodSandboxOptions } from './sandbox.ts';
export { startContainer, ContainerStartError } from './container.ts';
export { SETUP_FAILED_EXIT } from './setup-script.ts';
export { DEFAULT_PATH, InvalidEnvError } from './env.ts';
export { execInContainer, ExecError } from './exec.ts';
export { connectInNetns, ConnectError } from './connect.ts';
