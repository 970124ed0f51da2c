import { UsageError } from './errors.ts';

/** A `HOST:PORT` flag (`[::1]:53` for IPv6); a usage error names the command and the flag. */
export function parseHostPort(
  command: string,
  flag: string,
  address: string,
): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const port = Number(address.slice(i + 1));
  if (i < 0 || address.slice(i + 1) === '' || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`${command}: --${flag} must be HOST:PORT, got ${address}`);
  return { host: address.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port };
}
