import { parseArgs, type ParseArgsConfig } from 'node:util';
import { dev } from './dev.ts';
import { UsageError } from './errors.ts';
import { serve } from './serve.ts';

const USAGE = `usage: kubegate <command> [flags]

commands:
  dev    [--dir D] [--apiservers N] [--port P]   a local control plane with kubegate in front
  serve  -f FILE                                  run the gateway from a configuration file
`;

const COMMANDS: Record<
  string,
  { options: ParseArgsConfig['options']; run: (v: Record<string, unknown>) => Promise<number> }
> = {
  dev: {
    options: { dir: { type: 'string' }, apiservers: { type: 'string' }, port: { type: 'string' } },
    run: (v) => dev(v),
  },
  serve: { options: { file: { type: 'string', short: 'f' } }, run: (v) => serve(v) },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) throw new UsageError(`unknown command "${name}" (known: ${Object.keys(COMMANDS).join(', ')})`);
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args: rest, options: cmd.options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError(`${name}: ${(err as Error).message.split('\n')[0]}`);
  }
  return cmd.run(values);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`kubegate: error: ${err.message}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);
