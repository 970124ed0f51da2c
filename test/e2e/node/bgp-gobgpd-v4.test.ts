import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gobgpInterop } from './bgp-gobgp-interop.ts';

// GoBGP v4, built from its Go module by tools/e2e-suites/provide.sh (cached; tools/test builds it).
const PROVIDE = fileURLToPath(new URL('../../../tools/e2e-suites/provide.sh', import.meta.url));
const bin = execFileSync(PROVIDE, ['gobgpd', 'gobgp'], { encoding: 'utf8', timeout: 15 * 60_000 }).trim();

gobgpInterop({
  name: 'with GoBGP v4',
  lab: 'gobgp4',
  gobgpd: join(bin, 'gobgpd'),
  gobgp: join(bin, 'gobgp'),
  version: /gobgpd version 4\./,
});
