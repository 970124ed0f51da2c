export { createKubeletServer, type KubeletServerOptions } from './server.ts';
