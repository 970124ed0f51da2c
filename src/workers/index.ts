export { ThreadedGateway, WorkerCommandError } from './threaded-gateway.ts';
